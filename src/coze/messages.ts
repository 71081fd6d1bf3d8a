// Gateway chat messages → Coze `additional_messages`. The one place that decides
// what context Coze sees: the system-role mapping, history de-duplication when Coze
// already holds the conversation, and multimodal parts → object_string.
import type { EnterMessage } from '@coze/api'
import { RoleType } from './sdk.js'
import { errors } from '../errors.js'

export type PartType = 'text' | 'image' | 'file' | 'audio'

export interface ContentPart {
  type: PartType
  text?: string | undefined
  file_id?: string | undefined
  file_url?: string | undefined
}

export interface GatewayMessage {
  role: 'user' | 'assistant' | 'system'
  content: string | ContentPart[]
  content_type?: string | undefined
}

export const SYSTEM_PREFIX = 'System instructions:'

/**
 * Builds the messages sent to Coze.
 *
 * - Coze has no `system` role: the text of every system message is joined and put in
 *   front of the first user message sent, as `System instructions: …` followed by a
 *   blank line. The turn structure stays intact and the bot reads the instructions
 *   as part of the conversation's opening.
 * - With `conversation_id`, Coze already holds the history, so only the new turn is
 *   sent: the user messages after the last assistant message. System messages are then
 *   dropped (they were sent when the conversation began).
 * - Without it, every message is the context: assistant turns go as `answer` messages.
 */
export function toCozeMessages (messages: GatewayMessage[], hasConversation: boolean): EnterMessage[] {
  const lastUser = findLastIndex(messages, (m) => m.role === 'user')
  if (lastUser === -1) throw errors.invalid('messages must contain at least one message with role "user"')
  if (messages.slice(lastUser + 1).some((m) => m.role === 'assistant')) {
    throw errors.invalid('the last message must be a user message (Coze answers the final user message)')
  }

  // Each selected message keeps its index in the request, so errors name the right one.
  const indexed = messages.map((m, i) => ({ m, i }))
  let selected: Array<{ m: GatewayMessage, i: number }>
  let systemText = ''
  if (hasConversation) {
    const lastAssistant = findLastIndex(messages, (m) => m.role === 'assistant')
    selected = indexed.slice(lastAssistant + 1).filter(({ m }) => m.role !== 'system')
  } else {
    systemText = messages.filter((m) => m.role === 'system').map((m) => textOf(m)).filter(Boolean).join('\n\n')
    selected = indexed.filter(({ m }) => m.role !== 'system')
  }

  const out: EnterMessage[] = selected.map(({ m, i }) => toEnterMessage(m, i))
  checkNeighbours(selected.map(({ i }) => i), out)
  if (systemText) {
    const first = out.find((m) => m.role === RoleType.User && m.content_type === 'text')
    const prefix = `${SYSTEM_PREFIX}\n${systemText}`
    if (first) first.content = `${prefix}\n\n${first.content as string}`
    else out.unshift({ role: RoleType.User, type: 'question', content: prefix, content_type: 'text' })
  }
  return out
}

function toEnterMessage (m: GatewayMessage, index: number): EnterMessage {
  const role = m.role === 'assistant' ? RoleType.Assistant : RoleType.User
  const type = m.role === 'assistant' ? 'answer' : 'question'
  if (typeof m.content === 'string') {
    if (m.content_type && m.content_type !== 'text' && m.content_type !== 'object_string') {
      throw errors.invalid(`messages[${index}].content_type must be "text" or "object_string"`)
    }
    if (m.content_type !== 'object_string') return { role, type, content: m.content, content_type: 'text' }
  }
  const at = `messages[${index}].content`
  // A pre-serialised object_string is held to the same rules as a parts array.
  const parts = typeof m.content === 'string' ? parseObjectString(m.content, at) : m.content
  if (parts.length === 0) throw errors.invalid(`${at} must not be an empty array`)
  if (m.role !== 'user') throw errors.invalid(`${at}: only user messages may carry file, image or audio parts`)
  parts.forEach((p, j) => {
    if (p.type === 'text') {
      if (!p.text) throw errors.invalid(`${at}[${j}]: a text part needs a non-empty "text"`)
    } else if (!p.file_id && !p.file_url) {
      throw errors.invalid(`${at}[${j}]: a ${p.type} part needs "file_id" (from /api/v1/upload) or "file_url"`)
    }
  })
  const texts = parts.filter((p) => p.type === 'text')
  if (texts.length === parts.length) {
    // Coze wants pure text as content_type "text"; a text-only part list is sent that way.
    if (texts.length > 1) throw errors.invalid(`${at}: Coze allows at most one text part per message`)
    return { role, type, content: texts[0]!.text!, content_type: 'text' }
  }
  if (texts.length > 1) throw errors.invalid(`${at}: Coze allows at most one text part per message`)
  const items = parts.map((p) => p.type === 'text'
    ? { type: 'text', text: p.text }
    : { type: p.type, ...(p.file_id ? { file_id: p.file_id } : { file_url: p.file_url }) })
  return { role, type, content: JSON.stringify(items), content_type: 'object_string' }
}

const PART_TYPES = new Set<string>(['text', 'image', 'file', 'audio'])

function parseObjectString (content: string, at: string): ContentPart[] {
  let items: unknown
  try { items = JSON.parse(content) } catch { items = undefined }
  if (!Array.isArray(items)) {
    throw errors.invalid(`${at}: with content_type "object_string" the content must be a JSON array of parts {type, text?, file_id?, file_url?} (or send the array itself as content)`)
  }
  return items.map((it: unknown, j) => {
    const p = (it && typeof it === 'object' ? it : {}) as Record<string, unknown>
    if (typeof p.type !== 'string' || !PART_TYPES.has(p.type)) throw errors.invalid(`${at}[${j}].type must be one of text, image, file, audio`)
    const str = (k: string) => (typeof p[k] === 'string' ? p[k] as string : undefined)
    return { type: p.type as PartType, text: str('text'), file_id: str('file_id'), file_url: str('file_url') }
  })
}

/** Coze rule: a message of only files/images needs a text message next to it. */
function checkNeighbours (requestIndex: number[], out: EnterMessage[]): void {
  out.forEach((m, k) => {
    if (m.content_type !== 'object_string') return
    const items = JSON.parse(m.content as string) as Array<{ type: string }>
    if (items.some((p) => p.type === 'text')) return
    const hasTextNeighbour = [out[k - 1], out[k + 1]].some((n) => n?.role === RoleType.User && n.content_type === 'text')
    if (!hasTextNeighbour) {
      throw errors.invalid(`messages[${requestIndex[k]}]: a message with only file/image/audio parts needs a text part, or a user text message right before or after it (Coze rule)`)
    }
  })
}

function textOf (m: GatewayMessage): string {
  if (typeof m.content === 'string') return m.content
  return m.content.filter((p) => p.type === 'text').map((p) => p.text ?? '').join('\n')
}

function findLastIndex<T> (a: T[], f: (x: T) => boolean): number {
  for (let i = a.length - 1; i >= 0; i--) if (f(a[i]!)) return i
  return -1
}
