// POST /api/v1/chat: JSON (aggregated from the Coze stream, never polled) or SSE.
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { badRequest } from '../errors.js'
import type { Config } from '../config.js'
import { aggregateChat, streamChat, type ChatEvent, type ChatResult, type ChatTurn } from '../coze/chat.js'
import { toCozeMessages, type GatewayMessage } from '../coze/messages.js'
import { ChatBodySchema, ChatResponses, type ChatBody } from '../schemas/chat.js'
import { clientAbortSignal } from '../client-abort.js'
import { relaySse, type SseWire } from './sse-relay.js'
import type { ChatGuard } from '../sessions/types.js'
import { bindChat } from '../sessions/chat-binding.js'

/** Request body → Coze chat turn; throws 400 for what the schema cannot say. */
export function buildTurn (config: Config, body: ChatBody, upstreamHoldsHistory = Boolean(body.conversation_id)): ChatTurn {
  const botId = body.bot_id || config.COZE_BOT_ID
  if (!botId) throw badRequest('bot_id is required either in request or environment variable COZE_BOT_ID')
  const userId = body.user_id || config.DEFAULT_USER_ID
  if (!userId) throw badRequest('user_id is required: send the id of your end user (or set DEFAULT_USER_ID on the gateway)')
  return {
    bot_id: botId,
    user_id: userId,
    additional_messages: toCozeMessages(body.messages as GatewayMessage[], upstreamHoldsHistory),
    conversation_id: body.conversation_id,
    custom_variables: body.custom_variables,
    meta_data: body.meta_data,
    auto_save_history: body.auto_save_history
  }
}

export function streamLimits (config: Config) {
  return { connectTimeoutMs: config.COZE_CONNECT_TIMEOUT_MS, idleTimeoutMs: config.COZE_IDLE_TIMEOUT_MS }
}

const now = () => new Date().toISOString()

/** ChatEvent → the /api/v1/chat SSE frame (undefined: not relayed). */
export function apiFrame (ev: ChatEvent): Record<string, unknown> | undefined {
  switch (ev.type) {
    case 'message_delta':
    case 'reasoning_delta':
    case 'follow_up':
      return { type: ev.type, content: ev.content, timestamp: now() }
    case 'tool_calls':
    case 'chat_completed':
      return { ...ev, timestamp: now() }
    default:
      return undefined
  }
}

export const apiWire: SseWire<ChatEvent> = {
  async event (sse, ev) {
    const frame = apiFrame(ev)
    if (frame) await sse.send(frame)
  },
  async error (sse, e) {
    await sse.send({ type: 'error', message: e.message, code: e.code, status: e.statusCode, ...(e.cozeCode !== undefined ? { coze_code: e.cozeCode } : {}), ...(e.logid ? { logid: e.logid } : {}), timestamp: now() })
  },
  async end (sse) { await sse.send({ type: 'end' }) }
}

/** Runs one chat turn and answers as SSE (stream) or as the aggregated JSON envelope. */
export async function answerChat (
  app: FastifyInstance,
  reply: FastifyReply,
  turn: ChatTurn,
  stream: boolean,
  extra: {
    data?: Record<string, unknown>
    /** Top-level reply fields; in a stream, added to the chat_completed / tool_calls frame. */
    top?: Record<string, unknown>
    onResult?: (conversationId: string) => void | Promise<void>
    /** Wraps the upstream call (sessions: queue per conversation, bind the turn to it). */
    guard?: ChatGuard
  } = {}
): Promise<FastifyReply> {
  const onLogid = (l: string) => { if (!reply.sent) void reply.header('x-coze-logid', l) }
  const limits = streamLimits(app.config)
  const track = async function * (events: AsyncIterable<ChatEvent>): AsyncGenerator<ChatEvent> {
    for await (const ev of app.upstream.track(events)) {
      if (ev.type === 'chat_completed' || ev.type === 'tool_calls') await extra.onResult?.(ev.conversation_id)
      // The ids before the first frame, so a client can cancel a running chat (POST /api/v1/chat/cancel).
      if (ev.type === 'chat_created' && !reply.sent) void reply.header('x-coze-conversation-id', ev.conversation_id).header('x-coze-chat-id', ev.chat_id)
      yield ev
    }
  }

  const events = (signal: AbortSignal) => {
    const run = (patch: Partial<ChatTurn>) => track(streamChat(app.coze, { ...turn, ...patch }, { ...limits, signal, onLogid }))
    return extra.guard ? extra.guard(signal, run) : run({})
  }

  if (stream) {
    const top = extra.top
    const wire: SseWire<ChatEvent> = top
      ? { ...apiWire, event: (sse, ev) => apiWire.event(sse, ev.type === 'chat_completed' || ev.type === 'tool_calls' ? { ...ev, ...top } : ev) }
      : apiWire
    return relaySse(app, reply, events, wire)
  }
  const signal = clientAbortSignal(reply)
  const r = await aggregateChat(events(signal))
  return reply.send(chatEnvelope(r, { bot_id: turn.bot_id, user_id: turn.user_id }, extra.data, extra.top))
}

/** An aggregated answer → the JSON envelope (for /api/v1/chat and tool outputs). */
export function chatEnvelope (r: ChatResult, who: { bot_id?: string, user_id?: string }, data: Record<string, unknown> = {}, top: Record<string, unknown> = {}) {
  const message = r.status === 'requires_action'
    ? 'Action required: run the tool calls, then POST /api/v1/chat/tool-outputs'
    : 'Chat completed successfully'
  return ok(message, {
    status: r.status,
    content: r.content,
    conversation_id: r.conversation_id,
    chat_id: r.chat_id,
    ...who,
    usage: r.usage,
    timestamp: now(),
    ...(r.reasoning_content ? { reasoning_content: r.reasoning_content } : {}),
    ...(r.follow_ups ? { follow_ups: r.follow_ups } : {}),
    ...(r.tool_calls ? { tool_calls: r.tool_calls } : {}),
    ...data
  }, { conversation_id: r.conversation_id, ...top })
}

const chatRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/v1/chat', {
    schema: {
      tags: ['chat'],
      summary: 'Chat with a bot (JSON, or SSE with "stream": true)',
      description: 'Non-stream: the gateway streams from Coze and aggregates the answer. Stream: one SSE frame per Coze delta, then chat_completed and end.',
      body: ChatBodySchema,
      response: ChatResponses
    }
  }, async (request, reply) => {
    const body = request.body
    const bound = await bindChat(app.sessions, body, { userId: app.config.DEFAULT_USER_ID || undefined, botId: app.config.COZE_BOT_ID || undefined })
    const turn = buildTurn(app.config, { ...body, user_id: bound.userId, bot_id: bound.botId }, bound.upstreamHoldsHistory)
    return answerChat(app, reply, turn, body.stream === true, { data: bound.reply, top: bound.reply, guard: bound.guard })
  })
}

export default chatRoutes
