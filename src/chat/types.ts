// The chat service's vocabulary: a surface-neutral request in, ChatEvents out.
import type { ChatEvent as UpstreamEvent, ToolCall, Usage } from '../coze/chat.js'
import type { GatewayMessage } from '../coze/messages.js'
import type { ChatTiming, Observation } from '../metrics/observation.js'
import type { Principal } from '../access/policy.js'

/** The client-facing API a request came in on (its wire format, its defaults, its metrics label). */
export type Surface = 'api' | 'chatbot' | 'openai' | 'workflow'

/** Who and what a turn ran for, as resolved by the service (defaults applied). */
export interface Turn {
  bot_id?: string | undefined
  /** a chatflow's turn */
  workflow_id?: string | undefined
  user_id?: string | undefined
  session_id?: string | undefined
}

type Terminal = Extract<UpstreamEvent, { type: 'chat_completed' | 'tool_calls' }>
/** `timing`: the split of the time to the first delta (the SSE chat_completed `timing`). */
export type ChatCompleted = Extract<UpstreamEvent, { type: 'chat_completed' }> & { turn: Turn, timing?: ChatTiming | undefined }
export type ToolCallsEvent = Extract<UpstreamEvent, { type: 'tool_calls' }> & { turn: Turn }

/** What a chat yields: Coze's events, the terminal ones stamped with the turn. */
export type ChatEvent = Exclude<UpstreamEvent, Terminal> | ChatCompleted | ToolCallsEvent

/** A chatflow (a conversational workflow), in an app (app_id) or in the library (the request's bot_id). */
export interface ChatflowTarget {
  workflow_id: string
  app_id?: string | undefined
  /** the chatflow's inputs */
  parameters?: Record<string, unknown> | undefined
  ext?: Record<string, string> | undefined
}

export interface ChatRequest {
  surface: Surface
  /** Talk to this chatflow instead of a bot; bot_id then names its library context (no default). */
  chatflow?: ChatflowTarget | undefined
  /** undefined: the session's bot, else COZE_BOT_ID */
  bot_id?: string | undefined
  /** undefined: the surface's default (DEFAULT_USER_ID, …) */
  user_id?: string | undefined
  messages: GatewayMessage[]
  conversation_id?: string | undefined
  session_id?: string | undefined
  custom_variables?: Record<string, string> | undefined
  meta_data?: Record<string, string> | undefined
  auto_save_history?: boolean | undefined
}

export interface ChatIds { conversation_id: string, chat_id: string }

/** Continues a chat that waits on tool outputs (requires_action). */
export interface ToolOutputsRequest extends ChatIds {
  surface: Surface
  user_id?: string | undefined
  tool_outputs: Array<{ tool_call_id: string, output: string }>
}

export interface CancelRequest extends ChatIds {
  user_id?: string | undefined
}

export interface ChatContext {
  /** The client left (or the gateway shuts down): stop, and cancel the chat in Coze. */
  signal: AbortSignal
  /** The gateway key of the request (undefined without keys): its bots, budget and ownership apply. */
  principal?: Principal
  /** The Coze logid, as soon as Coze's headers arrive. */
  onLogid?: ((logid: string) => void) | undefined
  /** The chat's ids, as soon as Coze created it (so a client can cancel it). */
  onChat?: ((ids: ChatIds) => void) | undefined
  /** The request's observation: Coze calls are timed on it, the chat noted for its log line. */
  observation?: Observation | undefined
}

/** A chat drained into one answer (non-stream replies). */
export interface ChatResult {
  status: 'completed' | 'requires_action'
  content: string
  reasoning_content?: string
  follow_ups?: string[]
  conversation_id: string
  chat_id: string
  usage: Usage
  tool_calls?: ToolCall[]
  /** chatflows: Coze's debug_url of the run */
  debug_url?: string | null
  turn: Turn
}
