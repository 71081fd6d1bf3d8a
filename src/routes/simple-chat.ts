// The simple chat API of the chatbot service (product doc 004): /chat, /chat/stream,
// /session/{id}/info, /session/{id}/clear. Same sessions and chat pipeline as /api/v1,
// its own reply shapes, and errors as {"detail": "..."} (this plugin's error handler).
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { aggregateChat, streamChat, type ChatEvent, type ChatTurn } from '../coze/chat.js'
import { ClientAbortError, GatewayError } from '../errors.js'
import { clientAbortSignal } from '../client-abort.js'
import { toClientError } from '../plugins/error-handler.js'
import { bindChat } from '../sessions/chat-binding.js'
import { newSessionId } from '../sessions/service.js'
import type { ChatGuard } from '../sessions/types.js'
import { SessionParams } from '../schemas/sessions.js'
import {
  SIMPLE_CHAT_TAG, SimpleChatBody, SimpleChatReply, SimpleClearReply, SimpleErrors, SimpleSessionInfo, SimpleUserQuery
} from '../schemas/simple-chat.js'
import { buildTurn, streamLimits } from './chat.js'
import { relaySse, type SseWire } from './sse-relay.js'
import { allowEmptyJsonBody } from './optional-body.js'

const SSE_NOTE = 'SSE: `data: {"type":"chunk","data":{"content","chunk_index"}}` per delta, then `{"type":"complete","data":{"total_chunks","full_content","session_id","conversation_id","message_id"}}`; ' +
  'on failure after the stream began, `{"type":"error","data":{"message"}}`. Errors before the first frame are `{"detail"}` JSON with the HTTP status.'

interface Prepared { turn: ChatTurn, guard: ChatGuard, sessionId: string }

async function prepare (app: FastifyInstance, body: SimpleChatBody): Promise<Prepared> {
  const sessionId = body.session_id || newSessionId()
  const messages = [{ role: 'user' as const, content: body.message }]
  const bound = await bindChat(app.sessions, {
    session_id: sessionId,
    user_id: body.user_id ?? undefined,
    bot_id: body.bot_id ?? undefined,
    messages
  }, { userId: app.config.DEFAULT_USER_ID || 'anonymous', botId: app.config.COZE_BOT_ID || undefined, inheritUser: true })
  const turn = buildTurn(app.config, { messages, user_id: bound.userId, bot_id: bound.botId }, true)
  return { turn, guard: bound.guard, sessionId }
}

/** The guarded chat as events, with the logid header and upstream health reporting. */
function chatEvents (app: FastifyInstance, reply: FastifyReply, p: Prepared, signal: AbortSignal): AsyncIterable<ChatEvent> {
  const onLogid = (l: string) => { if (!reply.sent) void reply.header('x-coze-logid', l) }
  const limits = streamLimits(app.config)
  return p.guard(signal, (patch: Partial<ChatTurn>) => app.upstream.track(streamChat(app.coze, { ...p.turn, ...patch }, { ...limits, signal, onLogid })))
}

const toolsUnsupported = () => new GatewayError(409, 'CONFLICT',
  'This bot asked for tool outputs, which the simple chat API cannot carry: use POST /api/v1/chat and POST /api/v1/chat/tool-outputs.')

/** chunk / complete / error frames of the chatbot service. */
function chunkWire (sessionId: string): SseWire<ChatEvent> {
  let index = 0
  let full = ''
  return {
    async event (sse, ev) {
      if (ev.type === 'message_delta') {
        full += ev.content
        await sse.send({ type: 'chunk', data: { content: ev.content, chunk_index: index++ } })
      } else if (ev.type === 'chat_completed') {
        await sse.send({
          type: 'complete',
          data: { total_chunks: index, full_content: full, session_id: sessionId, conversation_id: ev.conversation_id, message_id: ev.chat_id }
        })
      } else if (ev.type === 'tool_calls') {
        throw toolsUnsupported()
      }
    },
    async error (sse, e) { await sse.send({ type: 'error', data: { message: e.message } }) },
    async end () {}
  }
}

const iso = (ms: number) => new Date(ms).toISOString()

const simpleChatRoutes: FastifyPluginAsyncTypebox = async (app) => {
  allowEmptyJsonBody(app)
  app.setErrorHandler((err, request, reply) => {
    // The client left: there is no one to answer.
    if (err instanceof ClientAbortError) return reply.code(499).send()
    const e = toClientError(err, app.config.MAX_UPLOAD_MB)
    if (e.statusCode >= 500 && e.code === 'INTERNAL_ERROR') request.log.error({ err }, 'unhandled error')
    else if (e.statusCode >= 500 || e.cozeCode !== undefined) request.log.warn({ code: e.code, coze_code: e.cozeCode, logid: e.logid }, e.message)
    if (e.logid) void reply.header('x-coze-logid', e.logid)
    if (reply.sent || reply.raw.headersSent) return
    return reply.code(e.statusCode).send({ detail: e.message })
  })

  app.post('/chat', {
    schema: {
      tags: [SIMPLE_CHAT_TAG],
      summary: 'Send a message, get the whole answer',
      description: 'session_id optional: without it a new session is started and its id returned. Errors: {"detail": "..."}.',
      body: SimpleChatBody,
      response: { 200: SimpleChatReply, ...SimpleErrors }
    }
  }, async (request, reply) => {
    const p = await prepare(app, request.body)
    const r = await aggregateChat(chatEvents(app, reply, p, clientAbortSignal(reply)))
    if (r.status === 'requires_action') throw toolsUnsupported()
    return { response: r.content, session_id: p.sessionId, message_id: r.chat_id, timestamp: new Date().toISOString(), conversation_id: r.conversation_id }
  })

  app.post('/chat/stream', {
    schema: {
      tags: [SIMPLE_CHAT_TAG],
      summary: 'Send a message, get the answer as Server-Sent Events',
      description: SSE_NOTE,
      body: SimpleChatBody,
      response: { 200: { description: 'text/event-stream', type: 'string' }, ...SimpleErrors }
    }
  }, async (request, reply) => {
    const p = await prepare(app, request.body)
    return relaySse(app, reply, (signal) => chatEvents(app, reply, p, signal), chunkWire(p.sessionId), { 'x-session-id': p.sessionId })
  })

  app.get('/session/:session_id/info', {
    schema: {
      tags: [SIMPLE_CHAT_TAG],
      summary: 'A session\'s info',
      params: SessionParams,
      querystring: SimpleUserQuery,
      response: { 200: SimpleSessionInfo, ...SimpleErrors }
    }
  }, async (request) => {
    const r = await app.sessions.find(request.params.session_id, request.query.user_id)
    return { session_id: r.session_id, user_id: r.user_id, conversation_id: r.conversation_id, last_activity: iso(r.last_activity), message_count: r.message_count, status: r.status }
  })

  app.post('/session/:session_id/clear', {
    schema: {
      tags: [SIMPLE_CHAT_TAG],
      summary: 'Clear a session\'s history: the bot no longer sees earlier turns',
      params: SessionParams,
      querystring: SimpleUserQuery,
      response: { 200: SimpleClearReply, ...SimpleErrors }
    }
  }, async (request, reply) => {
    const r = await app.sessions.clear(request.params.session_id, request.query.user_id, clientAbortSignal(reply))
    return { message: 'Session cleared successfully', session_id: r.session_id, cleared_at: iso(r.cleared_at ?? Date.now()) }
  })
}

export default simpleChatRoutes
