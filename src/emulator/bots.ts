import type { StoredFile, ToolCall, Usage } from './state.js'
import { newId } from './ids.js'

export type Behaviour = 'echo' | 'reasoning' | 'followup' | 'tool' | 'slow'

export interface BotDef {
  id: string
  name: string
  description: string
  behaviour: Behaviour
  prologue: string
  suggested_questions: string[]
}

/** The bot id used by the product docs' curl examples, so they work in demo mode. */
export const DEFAULT_BOT_ID = '7537334510896185359'

export const BOTS: BotDef[] = [
  {
    id: DEFAULT_BOT_ID,
    name: 'Echo',
    description: 'Repeats your question and shows what context it saw (alias: bot-echo).',
    behaviour: 'echo',
    prologue: 'Hi! I repeat what you say and tell you which turn this is.',
    suggested_questions: ['What did I say earlier?', 'Which turn is this?']
  },
  { id: 'bot-echo', name: 'Echo (alias)', description: 'Same as the default bot.', behaviour: 'echo', prologue: 'Hi! I repeat what you say.', suggested_questions: ['Hello'] },
  { id: 'bot-reasoning', name: 'Reasoner', description: 'Streams reasoning_content deltas before the answer.', behaviour: 'reasoning', prologue: 'I think before I answer.', suggested_questions: ['Why is the sky blue?'] },
  { id: 'bot-followup', name: 'Follow-up', description: 'Answers, then suggests three follow-up questions.', behaviour: 'followup', prologue: 'Ask me anything and I will suggest what to ask next.', suggested_questions: ['Tell me something'] },
  { id: 'bot-tool', name: 'Weather tool', description: 'Calls the client-side function get_weather, then uses its output.', behaviour: 'tool', prologue: 'Name a city and I will ask your tool for its weather.', suggested_questions: ['Paris'] },
  { id: 'bot-slow', name: 'Slow echo', description: 'Like the default bot with a delay between deltas (bot-slow-<ms> sets it per request).', behaviour: 'slow', prologue: 'I take my time.', suggested_questions: ['Hello'] }
]

const BY_ID = new Map(BOTS.map((b) => [b.id, b]))
const ECHO = BY_ID.get(DEFAULT_BOT_ID)!
const SLOW = BY_ID.get('bot-slow')!

export interface ResolvedBot {
  def: BotDef
  /** per-request delta delay (bot-slow-<ms>) */
  slowMs?: number
}

/** The bot behind an id; reserved `fault-…` ids answer like the default bot. */
export function resolveBot (id: string): ResolvedBot | undefined {
  const def = BY_ID.get(id)
  if (def) return { def }
  const slow = /^bot-slow-(\d+)$/.exec(id)
  if (slow) return { def: SLOW, slowMs: Number(slow[1]) }
  if (id.startsWith('fault-')) return { def: ECHO }
  return undefined
}

export function findBot (id: string): BotDef | undefined {
  return BY_ID.get(id)
}

// ---------------------------------------------------------------------------
// What a bot says

export interface VisibleMessage {
  role: 'user' | 'assistant'
  type: string
  content: string
  content_type: string
}

export interface PlannedMessage {
  id: string
  type: 'answer' | 'follow_up' | 'function_call' | 'verbose'
  content: string
  /** answer messages stream as deltas; the others come as `completed` only */
  deltas?: string[]
  reasoning?: string
  reasoningDeltas?: string[]
}

export interface TurnPlan {
  messages: PlannedMessage[]
  /** the turn ends in requires_action with these calls */
  toolCalls?: ToolCall[]
  usage: Usage
}

export type FileLookup = (id: string) => StoredFile | undefined

/** Splits on word boundaries into at least three non-empty pieces (when the text has 3+ chars). */
export function splitDeltas (text: string): string[] {
  const words = text.match(/\s*\S+\s*/g) ?? []
  if (words.length >= 3) return words
  if (text.length < 3) return text.length > 0 ? [text] : []
  const a = Math.ceil(text.length / 3)
  return [text.slice(0, a), text.slice(a, 2 * a), text.slice(2 * a)].filter((s) => s.length > 0)
}

interface Described { text: string | undefined; files: string[] }

interface ContentItem { type?: unknown; text?: unknown; file_id?: unknown; file_url?: unknown }

function describe (m: VisibleMessage, files: FileLookup): Described {
  if (m.content_type !== 'object_string') return { text: m.content, files: [] }
  let items: ContentItem[] = []
  try {
    const parsed: unknown = JSON.parse(m.content)
    if (Array.isArray(parsed)) items = parsed as ContentItem[]
  } catch { /* validated at the door; tolerate stored junk */ }
  let text: string | undefined
  const out: string[] = []
  for (const it of items) {
    if (it.type === 'text' && typeof it.text === 'string') {
      text = it.text
    } else if (typeof it.file_id === 'string' && it.file_id !== '') {
      const f = files(it.file_id)
      out.push(`I received the file "${f ? f.file_name : 'unknown'}" (${it.file_id}).`)
    } else if (typeof it.file_url === 'string') {
      out.push(`I received the file "${it.file_url}".`)
    }
  }
  return { text, files: out }
}

function quote (m: VisibleMessage, files: FileLookup): string {
  const d = describe(m, files)
  if (d.text !== undefined) return d.text
  return d.files.join(' ')
}

export function lastQuestion (visible: VisibleMessage[], files: FileLookup): string {
  for (let i = visible.length - 1; i >= 0; i--) {
    const m = visible[i]!
    if (m.role === 'user') return quote(m, files)
  }
  return ''
}

/** `Turn N. You said: "…". Earlier you said: "…". [context: user,assistant,user]` */
export function echoAnswer (visible: VisibleMessage[], files: FileLookup): string {
  const users = visible.filter((m) => m.role === 'user')
  const n = users.length
  const parts = [`Turn ${n}.`]
  const last = users[n - 1]
  if (last) {
    const d = describe(last, files)
    if (d.text !== undefined) parts.push(`You said: "${d.text}".`)
    parts.push(...d.files)
  } else {
    parts.push('I did not receive a question.')
  }
  const prev = users[n - 2]
  if (prev) parts.push(`Earlier you said: "${quote(prev, files)}".`)
  parts.push(`[context: ${visible.map((m) => m.role).join(',')}]`)
  return parts.join(' ')
}

function tokens (text: string): number {
  return Math.ceil(text.length / 4)
}

export function usageFor (visible: VisibleMessage[], out: string): Usage {
  let input = 10
  for (const m of visible) input += tokens(m.content)
  const output = 1 + tokens(out)
  return { input_count: input, output_count: output, token_count: input + output }
}

export const VERBOSE_FINISH = JSON.stringify({
  msg_type: 'generate_answer_finish',
  data: JSON.stringify({ finish_reason: 0, FinData: '' }),
  from_module: null,
  from_unit: null
})

export function answer (content: string): PlannedMessage {
  return { id: newId(), type: 'answer', content, deltas: splitDeltas(content) }
}

/** The messages a bot produces for one turn, given everything it can see. */
export function planTurn (behaviour: Behaviour, visible: VisibleMessage[], files: FileLookup): TurnPlan {
  const text = echoAnswer(visible, files)
  switch (behaviour) {
    case 'reasoning': {
      const q = lastQuestion(visible, files)
      const reasoning = `The user asked: "${q}". I will repeat it back and count the turns.`
      const msg = answer(text)
      msg.reasoning = reasoning
      msg.reasoningDeltas = splitDeltas(reasoning)
      return { messages: [msg], usage: usageFor(visible, reasoning + text) }
    }
    case 'followup': {
      const q = lastQuestion(visible, files)
      const followUps = [`What else can you tell me about "${q}"?`, 'Can you give me an example?', 'What should I ask next?']
      return {
        messages: [
          answer(text),
          { id: newId(), type: 'verbose', content: VERBOSE_FINISH },
          ...followUps.map((f): PlannedMessage => ({ id: newId(), type: 'follow_up', content: f }))
        ],
        usage: usageFor(visible, text + followUps.join(''))
      }
    }
    case 'tool': {
      const city = lastQuestion(visible, files)
      const call: ToolCall = { id: newId(), type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ city }) } }
      const fc = JSON.stringify({ name: 'get_weather', arguments: { city }, plugin_id: '7500000000000000000', api_name: 'get_weather', plugin_type: 2 })
      return {
        messages: [{ id: newId(), type: 'function_call', content: fc }],
        toolCalls: [call],
        usage: usageFor(visible, fc)
      }
    }
    default:
      return { messages: [answer(text)], usage: usageFor(visible, text) }
  }
}

/** The turn after submit_tool_outputs: `The tool said: <output>`. */
export function planToolAnswer (outputs: string[], previous: Usage): TurnPlan {
  const text = `The tool said: ${outputs.join('; ')}`
  const out = 1 + tokens(text)
  const input = previous.input_count + tokens(outputs.join(''))
  return { messages: [answer(text)], usage: { input_count: input, output_count: previous.output_count + out, token_count: input + previous.output_count + out } }
}
