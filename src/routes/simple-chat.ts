// The simple chat API of the chatbot service (product doc 004): /chat, /chat/stream,
// /session/{id}/info, /session/{id}/clear. Same sessions and chat pipeline as /api/v1,
// its own wire (src/wires/chatbot.ts): reply shapes, chunk/complete frames, {"detail"} errors.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { ChatRequest } from '../chat/types.js'
import { newSessionId } from '../sessions/service.js'
import { SessionParams } from '../schemas/sessions.js'
import {
  SIMPLE_CHAT_TAG, SimpleChatBody, SimpleChatReply, SimpleClearReply, SimpleErrors, SimpleSessionInfo, SimpleUserQuery
} from '../schemas/simple-chat.js'
import { surfaceOf } from '../plugins/error-handler.js'
import { ChatbotFrameSchema, chatReply, chunkWire } from '../wires/chatbot.js'
import { streamOnly } from '../schemas/common.js'
import { answer } from './chat-reply.js'
import { allowEmptyJsonBody } from './optional-body.js'
import type { FastifyRequest } from 'fastify'

/** The chatbot service always chats on a session: a new one when none is named. */
function chatRequest (body: SimpleChatBody): ChatRequest & { session_id: string } {
  return {
    surface: 'chatbot',
    session_id: body.session_id || newSessionId(),
    user_id: body.user_id || undefined,
    bot_id: body.bot_id || undefined,
    messages: [{ role: 'user', content: body.message }]
  }
}

const iso = (ms: number) => new Date(ms).toISOString()

const simpleChatRoutes: FastifyPluginAsyncTypebox = async (app) => {
  allowEmptyJsonBody(app)
  surfaceOf(app, 'chatbot')
  // As on /chat: no user_id means DEFAULT_USER_ID, else "anonymous" (never "whoever owns the session").
  const ownerOf = (request: FastifyRequest, userId: string | undefined) =>
    app.access.ownerOf(request.principal, userId || app.config.DEFAULT_USER_ID || 'anonymous')

  app.post('/chat', {
    schema: {
      tags: [SIMPLE_CHAT_TAG],
      summary: 'Send a message, get the whole answer',
      description: 'session_id optional: without it a new session is started and its id returned. Errors: {"detail": "..."}.',
      body: SimpleChatBody,
      response: { 200: SimpleChatReply, ...SimpleErrors }
    }
  }, async (request, reply) => {
    const req = chatRequest(request.body)
    return answer(app, request, reply, false, (ctx) => app.chat.chat(req, ctx), chunkWire(req.session_id), (r) => chatReply(r, req.session_id))
  })

  app.post('/chat/stream', {
    schema: {
      tags: [SIMPLE_CHAT_TAG],
      summary: 'Send a message, get the answer as Server-Sent Events',
      description: 'One `chunk` frame per delta, then `complete`; on failure after the stream began, `error`. Errors before the first frame are `{"detail"}` JSON with the HTTP status.',
      body: SimpleChatBody,
      response: { 200: streamOnly(ChatbotFrameSchema, 'text/event-stream'), ...SimpleErrors }
    }
  }, async (request, reply) => {
    const req = chatRequest(request.body)
    return answer(app, request, reply, true, (ctx) => app.chat.chat(req, ctx), chunkWire(req.session_id), (r) => chatReply(r, req.session_id), { 'x-session-id': req.session_id })
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
    const r = await app.sessions.find(request.params.session_id, ownerOf(request, request.query.user_id))
    return { session_id: r.session_id, user_id: app.access.userOf(request.principal, r.user_id), conversation_id: r.conversation_id, last_activity: iso(r.last_activity), message_count: r.message_count, status: r.status }
  })

  app.post('/session/:session_id/clear', {
    schema: {
      tags: [SIMPLE_CHAT_TAG],
      summary: 'Clear a session\'s history: the bot no longer sees earlier turns',
      params: SessionParams,
      querystring: SimpleUserQuery,
      response: { 200: SimpleClearReply, ...SimpleErrors }
    }
  }, async (request) => {
    const r = await app.sessions.clear(request.params.session_id, ownerOf(request, request.query.user_id), request.clientGone, request.observation)
    return { message: 'Session cleared successfully', session_id: r.session_id, cleared_at: iso(r.cleared_at ?? Date.now()) }
  })
}

export default simpleChatRoutes
