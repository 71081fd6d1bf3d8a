// One Coze chat turn as an async stream of gateway events. This is the single place
// where Coze stream events are interpreted; routes only map ChatEvent → their wire format.
//
// The SDK ends a stream *silently* on abort, on timeout and on a cut connection, so the
// pipeline tracks what it saw: only `conversation.chat.completed` (or requires_action)
// followed by `done` is success; anything else becomes a GatewayError.
import { randomUUID } from 'node:crypto'
import type { CozeAPI, EnterMessage, StreamChatData, ChatV3Message, CreateChatData, RequestOptions } from '@coze/api'
import { Type } from 'typebox'
import { ClientAbortError, errors, GatewayError } from '../errors.js'
import { cozeCall, reportUpstream, type CallOptions, type CozeClient } from './client.js'
import type { StreamEndpoint } from './endpoints.js'
import { decoder } from './decode.js'
import { fromCozeCode } from './errors.js'
import { StreamGuard, type StreamOptions } from './stream-guard.js'
import type { RawEvent } from './stream-transport.js'
import type { Lease } from './credentials.js'
import { ChatEventType, sdk } from './sdk.js'

export interface Usage { token_count: number, output_count: number, input_count: number }
export interface ToolCall { id: string, type: string, name: string, arguments: string }

export type ChatEvent =
  /** `bot_id`: when Coze names it (a continued chat's bot, for metrics) */
  | { type: 'chat_created', conversation_id: string, chat_id: string, bot_id?: string | undefined }
  | { type: 'message_delta', content: string }
  | { type: 'reasoning_delta', content: string }
  | { type: 'follow_up', content: string }
  | { type: 'tool_calls', conversation_id: string, chat_id: string, tool_calls: ToolCall[], usage: Usage }
  /** `debug_url`: chatflows only (from Coze's `done` event) */
  | { type: 'chat_completed', conversation_id: string, chat_id: string, usage: Usage, debug_url?: string | null }

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

/** A turn of a chatflow (a conversational workflow): in an app (app_id) or in the library (bot_id). */
export interface ChatflowTurn {
  workflow_id: string
  additional_messages: EnterMessage[]
  parameters?: Record<string, unknown> | undefined
  app_id?: string | undefined
  bot_id?: string | undefined
  conversation_id?: string | undefined
  ext?: Record<string, string> | undefined
}

export interface ToolOutputsTurn {
  conversation_id: string
  chat_id: string
  tool_outputs: Array<{ tool_call_id: string, output: string }>
}

/** Starts a chat turn and yields its events. Throws GatewayError / ClientAbortError. */
export function streamChat (coze: CozeClient, turn: ChatTurn, opts: StreamOptions): AsyncGenerator<ChatEvent> {
  const { conversation_id: conversationId, ...body } = turn
  const lean = coze.streams
  // What the SDK's chat.stream() sends: the conversation in the query, the rest in the body.
  const start: Source = lean
    ? (guard, token) => lean.stream(`/v3/chat${conversationId ? `?conversation_id=${conversationId}` : ''}`, chatPayload(body), token, guard, chatData)
    : (guard, token, api) => api.chat.stream({ ...body, ...(conversationId ? { conversation_id: conversationId } : {}) }, sdkOptions(coze, guard, token))
  return relay(opts, start, coze, 'chat')
}

/** Continues a chat that is waiting on tool outputs, streaming. */
export function streamToolOutputs (coze: CozeClient, turn: ToolOutputsTurn, opts: StreamOptions): AsyncGenerator<ChatEvent> {
  const lean = coze.streams
  const start: Source = lean
    ? (guard, token) => lean.stream(`/v3/chat/submit_tool_outputs?conversation_id=${turn.conversation_id}&chat_id=${turn.chat_id}`, { tool_outputs: turn.tool_outputs, stream: true }, token, guard, chatData)
    : (guard, token, api) => api.chat.submitToolOutputs({ ...turn, stream: true }, sdkOptions(coze, guard, token))
  return relay(opts, start, coze, 'tool_outputs')
}

/**
 * One chatflow turn (POST /v1/workflows/chat, streaming only). The chat events are those of
 * a bot chat; `done` carries `{debug_url}`, which the SDK's workflows.chat.stream() drops, so
 * the stream is read through the SDK's own post() and the terminal event waits for `done`.
 */
export function streamChatflow (coze: CozeClient, turn: ChatflowTurn, opts: StreamOptions): AsyncGenerator<ChatEvent> {
  const body = {
    workflow_id: turn.workflow_id,
    additional_messages: turn.additional_messages,
    ...(turn.parameters ? { parameters: turn.parameters } : {}),
    ...(turn.app_id ? { app_id: turn.app_id } : {}),
    ...(turn.bot_id ? { bot_id: turn.bot_id } : {}),
    ...(turn.conversation_id ? { conversation_id: turn.conversation_id } : {}),
    ...(turn.ext ? { ext: turn.ext } : {})
  }
  const lean = coze.streams
  const start: Source = lean
    ? (guard, token) => lean.stream('/v1/workflows/chat', body, token, guard, (ev) => parseEvent(ev.event, ev.data))
    : async function * (guard, token, api) {
      const raw = await api.post<object, AsyncIterable<{ event?: string, data?: string }>>('/v1/workflows/chat', body, true, sdkOptions(coze, guard, token))
      for await (const ev of raw) yield parseEvent(ev.event, ev.data)
    }
  return relay(opts, start, coze, 'chatflow', 'chatflow')
}

/** The body of the SDK's chat.stream() for a turn (without its conversation_id). */
function chatPayload (body: Omit<ChatTurn, 'conversation_id'>): object {
  const rest: Omit<ChatTurn, 'conversation_id'> = { ...body }
  if (!rest.user_id) rest.user_id = randomUUID()
  return { ...rest, additional_messages: sdk().handleAdditionalMessages(rest.additional_messages), stream: true }
}

/** A chat stream's event as the SDK's chat.stream() yields it: data parsed, `done` as "[DONE]". */
function chatData (ev: RawEvent): StreamChatData {
  if (ev.event === ChatEventType.DONE) return { event: ChatEventType.DONE, data: '[DONE]' }
  try {
    return { event: ev.event, data: JSON.parse(ev.data) } as StreamChatData
  } catch {
    throw new (sdk().CozeError)(`Could not parse message into JSON:${ev.data}`)
  }
}

/** A raw SSE event as the SDK's chat streams yield it: data parsed, `done` kept as text. */
function parseEvent (event: string | undefined, data: string | undefined): StreamChatData {
  if (event === ChatEventType.DONE || event === 'error') return { event, data } as unknown as StreamChatData
  try {
    return { event, data: JSON.parse(data ?? '') } as StreamChatData
  } catch {
    throw errors.upstreamMalformed('a chat stream event')
  }
}

/** The events of one streaming call, on either transport. */
type Source = (guard: StreamGuard, token: string, api: CozeAPI) => AsyncIterable<StreamChatData>

/** The SDK's request options of a stream call. */
export function sdkOptions (coze: CozeClient, guard: StreamGuard, token: string): RequestOptions {
  return coze.options({ signal: guard.signal, stream: true, onLogid: guard.onLogid, token })
}

async function * relay (opts: StreamOptions, start: Source, coze: CozeClient, endpoint: StreamEndpoint, resource?: 'chatflow'): AsyncGenerator<ChatEvent> {
  // before the guard's timers: the first call of a process loads the SDK
  const api = coze.api ?? await coze.sdk()
  const guard = new StreamGuard(opts, resource)
  const lease = opts.lease ?? coze.credentials.lease(opts)
  let ids: { conversation_id: string, chat_id: string } | undefined
  let terminal: 'completed' | 'requires_action' | undefined
  // A chatflow's terminal event waits for `done`, which carries its debug_url.
  let held: ChatEvent | undefined
  let done = false
  let drained = false
  let reported = false
  const report = (err?: unknown) => { reported = true; reportUpstream(coze, endpoint, err) }
  const deltaSeen = new Set<string>()
  const clock = opts.clock
  let firstDelta = clock !== undefined

  clock?.begin()
  try {
    const source = start(guard, await lease.token(), api)
    for await (const ev of source) {
      if (done) continue
      guard.event()
      switch (ev.event) {
        case ChatEventType.CONVERSATION_CHAT_CREATED:
          ids = { conversation_id: ev.data.conversation_id, chat_id: ev.data.id }
          yield { type: 'chat_created', ...ids, bot_id: ev.data.bot_id || undefined }
          break
        case ChatEventType.CONVERSATION_MESSAGE_DELTA: {
          const m = ev.data
          if (m.type && m.type !== 'answer') break
          const reasoning = (m as ChatV3Message & { reasoning_content?: string }).reasoning_content
          if (firstDelta && (reasoning || m.content)) { firstDelta = false; clock!.firstDelta() }
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
            if (firstDelta) { firstDelta = false; clock!.firstDelta() }
            yield { type: 'message_delta', content: m.content }
          }
          break
        }
        case ChatEventType.CONVERSATION_CHAT_COMPLETED: {
          terminal = 'completed'
          ids = { conversation_id: ev.data.conversation_id, chat_id: ev.data.id }
          const completed: ChatEvent = { type: 'chat_completed', ...ids, usage: usageOf(ev.data) }
          if (resource) held = completed
          else yield completed
          break
        }
        case ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION: {
          terminal = 'requires_action'
          ids = { conversation_id: ev.data.conversation_id, chat_id: ev.data.id }
          const calls: ChatEvent = { type: 'tool_calls', ...ids, tool_calls: toolCallsOf(ev.data), usage: usageOf(ev.data) }
          if (resource) held = calls
          else yield calls
          break
        }
        case ChatEventType.CONVERSATION_CHAT_FAILED: {
          const e = ev.data.last_error
          throw fromCozeCode(e?.code || 5000, e?.msg || 'the chat failed', guard.logid, undefined, resource)
        }
        case ChatEventType.ERROR:
          throw errorEvent(ev.data, guard.logid, resource)
        case ChatEventType.DONE:
          // Keep reading to the end of the body so the keep-alive socket is reused.
          done = true
          guard.ended()
          if (held) {
            yield held.type === 'chat_completed' ? { ...held, debug_url: debugUrlOf(ev.data) } : held
            held = undefined
          }
          break
        default:
          break
      }
    }
    drained = true
  } catch (err) {
    const e = guard.toError(err, TRUNCATED)
    report(e)
    if (!(e instanceof GatewayError)) throw e
    lease.report(e)
    throw coze.credentials.explain(lease, e)
  } finally {
    guard.close(done)
    clock?.end()
    // The consumer stopped reading (its client left).
    if (!reported && !drained) report(new ClientAbortError())
    // A chat whose client left is cancelled in Coze so it stops spending tokens.
    if (!done && ids && opts.signal?.aborted) cancelQuietly(coze, ids, lease)
  }
  if (!done || !terminal) {
    const e = guard.failure(TRUNCATED)
    report(e)
    throw e
  }
  report()
  lease.report()
}

const TRUNCATED = 'The Coze stream ended before the chat completed; the answer is incomplete.'

/** The debug_url of a chatflow's `done` data (`{"debug_url":"…"}`). */
function debugUrlOf (data: unknown): string | null {
  if (typeof data !== 'string') return null
  try {
    const v = JSON.parse(data) as { debug_url?: unknown }
    return typeof v?.debug_url === 'string' && v.debug_url ? v.debug_url : null
  } catch {
    return null
  }
}

/** `event:error` data: a JSON object {code,msg}, or the raw text the SDK could not frame. */
function errorEvent (data: unknown, logid: string | undefined, resource?: 'chatflow'): GatewayError {
  let d = data
  if (typeof d === 'string') {
    try { d = JSON.parse(d) } catch { /* raw text */ }
  }
  const obj = (d && typeof d === 'object' ? d : {}) as { code?: number, msg?: string, detail?: { logid?: string } }
  const id = obj.detail?.logid ?? logid
  if (typeof obj.code === 'number' && obj.code !== 0) return fromCozeCode(obj.code, obj.msg ?? '', id, undefined, resource)
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

/** Best effort: a chat whose client left is cancelled in Coze (on its own credential) so it stops spending tokens. */
export function cancelQuietly (coze: CozeClient, ids: { conversation_id: string, chat_id: string }, lease: Lease): void {
  Promise.all([lease.token(), coze.sdk()]).then(([token, api]) => api.chat.cancel(ids.conversation_id, ids.chat_id, coze.options({ token }))).catch(() => {})
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
  const c = decodeChat(await cozeCall(coze, o, (opts, api) => api.chat.cancel(ids.conversation_id, ids.chat_id, opts)) ?? {})
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
    return decodeChat(await cozeCall(coze, o, (opts, api) => api.chat.retrieve(ids.conversation_id, ids.chat_id, opts))).status
  } catch {
    return undefined
  }
}
