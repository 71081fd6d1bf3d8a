// The /api/v1 wire: the envelope of every JSON answer and error, and the SSE frames of the
// chat routes (/api/v1/chat, tool outputs, chatflows). The frame schemas document the
// stream in OpenAPI.
import { Type } from 'typebox'
import { ok, fail, type Envelope } from '../envelope.js'
import type { GatewayError } from '../errors.js'
import type { SseWire } from '../sse.js'
import type { ChatEvent, ChatResult } from '../chat/types.js'
import { Timestamp, Usage } from '../schemas/common.js'

const now = () => new Date().toISOString()

// ---- frames -------------------------------------------------------------------------

const Text = (type: string, description: string) =>
  Type.Object({ type: Type.Literal(type), content: Type.String(), timestamp: Timestamp }, { description })
const ToolCall = Type.Object({ id: Type.String(), type: Type.String(), name: Type.String(), arguments: Type.String({ description: 'JSON string' }) })
const SessionId = Type.Optional(Type.String({ description: 'The session of the chat, when the request named one' }))
const Timing = Type.Object({
  upstream_ms: Type.Number({ description: 'Coze\'s part: from sending to Coze to Coze\'s first delta (with any Coze call made before it)' }),
  gateway_ms: Type.Number({ description: 'The gateway\'s part: first_delta_ms - upstream_ms' }),
  first_delta_ms: Type.Union([Type.Number(), Type.Null()], { description: 'From the request\'s arrival to its first delta sent (null: no delta was sent; the parts then split the time so far)' })
}, { description: 'Where the time to the first delta went; the same split as the Server-Timing header of JSON answers' })

export const ErrorFrameSchema = Type.Object({
  type: Type.Literal('error'),
  message: Type.String(),
  code: Type.String({ description: 'The gateway error code, e.g. UPSTREAM_TRUNCATED' }),
  status: Type.Integer({ description: 'The HTTP status the error would have had before the stream began' }),
  coze_code: Type.Optional(Type.Integer()),
  logid: Type.Optional(Type.String()),
  timestamp: Timestamp
}, { description: 'The stream failed; no chat_completed follows' })

export const EndFrameSchema = Type.Object({ type: Type.Literal('end') }, { description: 'Always last' })

export const ChatFrameSchema = Type.Union([
  Text('message_delta', 'One per Coze delta'),
  Text('reasoning_delta', 'Reasoning text of deep-thinking bots'),
  Text('follow_up', 'A suggested next question'),
  Type.Object({ type: Type.Literal('tool_calls'), conversation_id: Type.String(), chat_id: Type.String(), tool_calls: Type.Array(ToolCall), usage: Usage, timestamp: Timestamp, session_id: SessionId },
    { description: 'The bot waits for POST /api/v1/chat/tool-outputs' }),
  Type.Object({
    type: Type.Literal('chat_completed'),
    conversation_id: Type.String(),
    chat_id: Type.String(),
    usage: Usage,
    timestamp: Timestamp,
    session_id: SessionId,
    debug_url: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'Chatflows: Coze\'s debug URL of the run' })),
    timing: Type.Optional(Timing)
  }, { description: 'The chat finished' }),
  ErrorFrameSchema,
  EndFrameSchema
], { description: 'Server-Sent Events: each frame is `data: <json>` and a blank line; lines starting with `:` are heartbeats.' })

export function errorFrame (e: GatewayError) {
  return {
    type: 'error' as const,
    message: e.message,
    code: e.code,
    status: e.statusCode,
    ...(e.cozeCode !== undefined ? { coze_code: e.cozeCode } : {}),
    ...(e.logid ? { logid: e.logid } : {}),
    timestamp: now()
  }
}

/** ChatEvent → frame (undefined: not relayed). */
export function chatFrame (ev: ChatEvent): Record<string, unknown> | undefined {
  switch (ev.type) {
    case 'message_delta':
    case 'reasoning_delta':
    case 'follow_up':
      return { type: ev.type, content: ev.content, timestamp: now() }
    case 'tool_calls':
      return { type: ev.type, conversation_id: ev.conversation_id, chat_id: ev.chat_id, tool_calls: ev.tool_calls, usage: ev.usage, timestamp: now(), ...sessionOf(ev.turn) }
    case 'chat_completed':
      return {
        type: ev.type,
        conversation_id: ev.conversation_id,
        chat_id: ev.chat_id,
        usage: ev.usage,
        timestamp: now(),
        ...sessionOf(ev.turn),
        ...(ev.debug_url !== undefined ? { debug_url: ev.debug_url } : {}),
        ...(ev.timing ? { timing: ev.timing } : {})
      }
    default:
      return undefined
  }
}

const sessionOf = (turn: { session_id?: string | undefined }) => (turn.session_id ? { session_id: turn.session_id } : {})

/** The error and end frames every /api/v1 stream ends with. */
export const streamEnd: Pick<SseWire<unknown>, 'error' | 'end'> = {
  async error (sse, e) { await sse.send(errorFrame(e)) },
  async end (sse) { await sse.send({ type: 'end' }) }
}

export const chatWire: SseWire<ChatEvent> = {
  event (sse, ev) {
    const frame = chatFrame(ev)
    return frame && sse.send(frame)
  },
  ...streamEnd
}

// ---- JSON ---------------------------------------------------------------------------

/**
 * An aggregated chat → the envelope. `continuation` (tool outputs): the answer of a chat
 * that already existed, so without the bot and user of a new one.
 */
export function chatAnswer (r: ChatResult, continuation = false): Envelope {
  const message = r.status === 'requires_action'
    ? 'Action required: run the tool calls, then POST /api/v1/chat/tool-outputs'
    : 'Chat completed successfully'
  const session = sessionOf(r.turn)
  return ok(message, {
    status: r.status,
    content: r.content,
    conversation_id: r.conversation_id,
    chat_id: r.chat_id,
    ...(continuation ? {} : r.turn.workflow_id ? chatflowOf(r) : { bot_id: r.turn.bot_id, user_id: r.turn.user_id }),
    usage: r.usage,
    timestamp: now(),
    ...(r.reasoning_content ? { reasoning_content: r.reasoning_content } : {}),
    ...(r.follow_ups ? { follow_ups: r.follow_ups } : {}),
    ...(r.tool_calls ? { tool_calls: r.tool_calls } : {}),
    ...session
  }, { conversation_id: r.conversation_id, ...session })
}

const chatflowOf = (r: ChatResult) => ({
  workflow_id: r.turn.workflow_id,
  ...(r.turn.bot_id ? { bot_id: r.turn.bot_id } : {}),
  user_id: r.turn.user_id,
  debug_url: r.debug_url ?? null
})

/** Every /api/v1 error: the envelope with success=false, the gateway code and the Coze code and logid. */
export function errorBody (e: GatewayError, data: unknown = null): Envelope {
  const extra: Record<string, unknown> = { code: e.code }
  if (e.cozeCode !== undefined) extra.coze_code = e.cozeCode
  if (e.logid) extra.logid = e.logid
  if (e.details !== undefined) extra.details = e.details
  return fail(e.message, extra, data)
}
