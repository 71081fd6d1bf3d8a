import type { FileLookup, PlannedMessage, TurnPlan, VisibleMessage } from './bots.js'
import { VERBOSE_FINISH, answer, echoAnswer, lastQuestion, usageFor } from './bots.js'
import { badRequest } from './errors.js'
import { newId } from './ids.js'

/** Echoes the user message and its `parameters`. */
export const CHATFLOW_ECHO_ID = 'chatflow-echo'
/** A question node: asks CHATFLOW_QUESTION, then greets the next user message on the conversation. */
export const CHATFLOW_QUESTION_ID = 'chatflow-question'
/** Needs `parameters.topic` (4000 naming it when absent). */
export const CHATFLOW_REQUIRED_ID = 'chatflow-required'

export const CHATFLOW_QUESTION = 'What is your name?'
/** the required input of CHATFLOW_REQUIRED_ID */
export const CHATFLOW_REQUIRED_INPUT = 'topic'

export type ChatflowKind = 'echo' | 'question' | 'required'

export interface ChatflowDef { id: string; kind: ChatflowKind; description: string }

export const CHATFLOWS: ChatflowDef[] = [
  { id: CHATFLOW_ECHO_ID, kind: 'echo', description: 'answers with the echo bot text plus `Parameters: <JSON>.`' },
  { id: CHATFLOW_QUESTION_ID, kind: 'question', description: `asks "${CHATFLOW_QUESTION}", then answers "Nice to meet you, <reply>!"` },
  { id: CHATFLOW_REQUIRED_ID, kind: 'required', description: `needs parameters.${CHATFLOW_REQUIRED_INPUT}; answers "Topic: <topic>. You said: "<message>"."` }
]

const BY_ID = new Map(CHATFLOWS.map((c) => [c.id, c.kind]))

/** The chatflow behind an id; reserved `fault-…` ids run like chatflow-echo once their fault has played. */
export function resolveChatflow (id: string): ChatflowKind | undefined {
  return BY_ID.get(id) ?? (id.startsWith('fault-') ? 'echo' : undefined)
}

/** Required inputs, checked before anything runs (a missing one is 4000, as coze-js #102 reports). */
export function checkInputs (kind: ChatflowKind, parameters: unknown): void {
  if (kind !== 'required') return
  const v = typeof parameters === 'object' && parameters !== null ? (parameters as Record<string, unknown>)[CHATFLOW_REQUIRED_INPUT] : undefined
  if (v === undefined || v === null || v === '') throw badRequest(`Missing required parameter: ${CHATFLOW_REQUIRED_INPUT}. The chatflow's input "${CHATFLOW_REQUIRED_INPUT}" is required.`)
}

export interface ChatflowTurn {
  plan: TurnPlan
  /** the question node waits for a reply after this turn (true), or stops waiting (false) */
  awaitsReply: boolean
}

/**
 * What a chatflow answers. `awaiting` says the question node asked on this conversation and
 * this turn's last user message is the reply. Like the cloud capture, the answer is followed
 * by a verbose generate_answer_finish message.
 */
export function planChatflow (kind: ChatflowKind, visible: VisibleMessage[], parameters: unknown, awaiting: boolean, files: FileLookup): ChatflowTurn {
  let text: string
  let awaitsReply = false
  switch (kind) {
    case 'question':
      if (awaiting) {
        text = `Nice to meet you, ${lastQuestion(visible, files)}!`
      } else {
        text = CHATFLOW_QUESTION
        awaitsReply = true
      }
      break
    case 'required':
      text = `Topic: ${String((parameters as Record<string, unknown>)[CHATFLOW_REQUIRED_INPUT])}. You said: "${lastQuestion(visible, files)}".`
      break
    default:
      text = `${echoAnswer(visible, files)} Parameters: ${JSON.stringify(parameters)}.`
  }
  const verbose: PlannedMessage = { id: newId(), type: 'verbose', content: VERBOSE_FINISH }
  return { plan: { messages: [answer(text), verbose], usage: usageFor(visible, text) }, awaitsReply }
}
