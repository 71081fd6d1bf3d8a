// One Coze chat turn as an async stream of gateway events. This is the single place
// where Coze stream events are interpreted; routes only map ChatEvent → their wire format.
//
// The SDK ends a stream *silently* on abort, on timeout and on a cut connection, so the
// pipeline tracks what it saw: only `conversation.chat.completed` (or requires_action)
// followed by `done` is success; anything else becomes a GatewayError.
import { ChatEventType, type EnterMessage, type StreamChatData, type ChatV3Message, type CreateChatData } from '@coze/api'
import { Type } from 'typebox'
import { errors, type GatewayError } from '../errors.js'
import { cozeCall, type CallOptions, type CozeClient } from './client.js'
import { decoder } from './decode.js'
import { fromCozeCode } from './errors.js'
import { StreamGuard, type StreamOptions } from './stream-guard.js'

export interface Usage { token_count: number, output_count: number, input_count: number }
export interface ToolCall { id: string, type: string, name: string, arguments: string }

export type ChatEvent =
  | { type: 'chat_created', conversation_id: string, chat_id: string }
  | { type: 'message_delta', content: string }
  | { type: 'reasoning_delta', content: string }
  | { type: 'follow_up', content: string }
  | { type: 'tool_calls', conversation_id: string, chat_id: string, tool_calls: ToolCall[], usage: Usage }
  | { type: 'chat_completed', conversation_id: string, chat_id: string, usage: Usage }

export interface ChatTurn {
  bot_id: string
  user_id: string
  additional_messages: EnterMessage[]
  conversation_id?: string | undefined
  custom_variables?: Record<string, string> | undefined
  meta_data?: Record<string, string> | undefined
  auto_save_history?: boolean | undefined
}

export type { StreamLimits, StreamOptions } from './stream-guard.js'

export interface ToolOutputsTurn {
  conversation_id: string
  chat_id: string
  tool_outputs: Array<{ tool_call_id: string, output: string }>
}

/** Starts a chat turn and yields its events. Throws GatewayError / ClientAbortError. */
export function streamChat (coze: CozeClient, turn: ChatTurn, opts: StreamOptions): AsyncGenerator<ChatEvent> {
  const { conversation_id: conversationId, ...body } = turn
  return relay(opts, (callOpts) => coze.api.chat.stream(
    { ...body, ...(conversationId ? { conversation_id: conversationId } : {}) },
    coze.options(callOpts)
  ), coze)
}

/** Continues a chat that is waiting on tool outputs, streaming. */
export function streamToolOutputs (coze: CozeClient, turn: ToolOutputsTurn, opts: StreamOptions): AsyncGenerator<ChatEvent> {
  return relay(opts, (callOpts) => coze.api.chat.submitToolOutputs({ ...turn, stream: true }, coze.options(callOpts)), coze)
}

type Source = (o: { signal: AbortSignal, onLogid: (l: string) => void, stream: true }) => AsyncIterable<StreamChatData>

async function * relay (opts: StreamOptions, start: Source, coze: CozeClient): AsyncGenerator<ChatEvent> {
  const guard = new StreamGuard(opts)
  let ids: { conversation_id: string, chat_id: string } | undefined
  let terminal: 'completed' | 'requires_action' | undefined
  let done = false
  const deltaSeen = new Set<string>()

  try {
    const source = start({ signal: guard.signal, stream: true, onLogid: guard.onLogid })
    for await (const ev of source) {
      if (done) continue
      guard.event()
      switch (ev.event) {
        case ChatEventType.CONVERSATION_CHAT_CREATED:
          ids = { conversation_id: ev.data.conversation_id, chat_id: ev.data.id }
          yield { type: 'chat_created', ...ids }
          break
        case ChatEventType.CONVERSATION_MESSAGE_DELTA: {
          const m = ev.data
          if (m.type && m.type !== 'answer') break
          const reasoning = (m as ChatV3Message & { reasoning_content?: string }).reasoning_content
          if (reasoning) yield { type: 'reasoning_delta', content: reasoning }
          if (m.content) {
            deltaSeen.add(m.id)
            yield { type: 'message_delta', content: m.content }
          }
          break
        }
        case ChatEventType.CONVERSATION_MESSAGE_COMPLETED: {
          const m = ev.data
          if (m.type === 'follow_up') yield { type: 'follow_up', content: m.content }
          // An answer that arrived whole (no deltas, e.g. a card) is still relayed.
          else if (m.type === 'answer' && m.content && !deltaSeen.has(m.id)) {
            deltaSeen.add(m.id)
            yield { type: 'message_delta', content: m.content }
          }
          break
        }
        case ChatEventType.CONVERSATION_CHAT_COMPLETED:
          terminal = 'completed'
          ids = { conversation_id: ev.data.conversation_id, chat_id: ev.data.id }
          yield { type: 'chat_completed', ...ids, usage: usageOf(ev.data) }
          break
        case ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION:
          terminal = 'requires_action'
          ids = { conversation_id: ev.data.conversation_id, chat_id: ev.data.id }
          yield { type: 'tool_calls', ...ids, tool_calls: toolCallsOf(ev.data), usage: usageOf(ev.data) }
          break
        case ChatEventType.CONVERSATION_CHAT_FAILED: {
          const e = ev.data.last_error
          throw fromCozeCode(e?.code || 5000, e?.msg || 'the chat failed', guard.logid)
        }
        case ChatEventType.ERROR:
          throw errorEvent(ev.data, guard.logid)
        case ChatEventType.DONE:
          // Keep reading to the end of the body so the keep-alive socket is reused.
          done = true
          guard.ended()
          break
        default:
          break
      }
    }
  } catch (err) {
    throw guard.toError(err, TRUNCATED)
  } finally {
    guard.close(done)
    // A chat whose client left is cancelled in Coze so it stops spending tokens.
    if (!done && ids && opts.signal?.aborted) cancelQuietly(coze, ids)
  }
  if (!done || !terminal) throw guard.failure(TRUNCATED)
}

const TRUNCATED = 'The Coze stream ended before the chat completed; the answer is incomplete.'

/** `event:error` data: a JSON object {code,msg}, or the raw text the SDK could not frame. */
function errorEvent (data: unknown, logid: string | undefined): GatewayError {
  let d = data
  if (typeof d === 'string') {
    try { d = JSON.parse(d) } catch { /* raw text */ }
  }
  const obj = (d && typeof d === 'object' ? d : {}) as { code?: number, msg?: string, detail?: { logid?: string } }
  const id = obj.detail?.logid ?? logid
  if (typeof obj.code === 'number' && obj.code !== 0) return fromCozeCode(obj.code, obj.msg ?? '', id)
  return errors.upstreamError('Coze sent a malformed stream event.', id)
}

function usageOf (chat: CreateChatData): Usage {
  const u = chat.usage
  return { token_count: u?.token_count ?? 0, output_count: u?.output_count ?? 0, input_count: u?.input_count ?? 0 }
}

function toolCallsOf (chat: CreateChatData): ToolCall[] {
  const calls = chat.required_action?.submit_tool_outputs?.tool_calls ?? []
  return calls.map((c) => ({ id: c.id, type: c.type, name: c.function?.name ?? '', arguments: c.function?.arguments ?? '' }))
}

/** Best effort: a chat whose client left is cancelled in Coze so it stops spending tokens. */
export function cancelQuietly (coze: CozeClient, ids: { conversation_id: string, chat_id: string }): void {
  coze.api.chat.cancel(ids.conversation_id, ids.chat_id, coze.options()).catch(() => {})
}

export interface ChatIds { conversation_id: string, chat_id: string }

const ChatStatus = Type.Object({
  id: Type.Optional(Type.String()),
  conversation_id: Type.Optional(Type.String()),
  bot_id: Type.Optional(Type.String()),
  status: Type.Optional(Type.String()),
  created_at: Type.Optional(Type.Integer())
})
const decodeChat = decoder(ChatStatus, 'a chat status')

export interface ChatState { conversation_id: string, chat_id: string, status: string, bot_id?: string, created_at?: number }

/** Cancels a chat in progress; Coze's 4104 (already finished) is thrown as is. */
export async function cancelChat (coze: CozeClient, ids: ChatIds, o: CallOptions = {}): Promise<ChatState> {
  const c = decodeChat(await cozeCall(coze, o, (opts) => coze.api.chat.cancel(ids.conversation_id, ids.chat_id, opts)) ?? {})
  return {
    conversation_id: c.conversation_id || ids.conversation_id,
    chat_id: c.id || ids.chat_id,
    status: c.status ?? 'canceled',
    ...(c.bot_id ? { bot_id: c.bot_id } : {}),
    ...(typeof c.created_at === 'number' ? { created_at: c.created_at } : {})
  }
}

/** The chat's status, or undefined when Coze cannot tell. */
export async function chatStatus (coze: CozeClient, ids: ChatIds, o: CallOptions = {}): Promise<string | undefined> {
  try {
    return decodeChat(await cozeCall(coze, o, (opts) => coze.api.chat.retrieve(ids.conversation_id, ids.chat_id, opts))).status
  } catch {
    return undefined
  }
}
