// /api/v1/sessions: server-side chat sessions. Chat on one with POST /api/v1/chat {session_id}.
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { errors } from '../errors.js'
import { sessionView } from '../sessions/view.js'
import { CommonErrors, Envelope, ErrorRef, Timestamp, UpstreamErrors } from '../schemas/common.js'
import { CreateSessionBody, OwnerQuery, PageQuery, Pagination, SessionParams, SessionSchema, USER_ID } from '../schemas/sessions.js'
import { allowEmptyJsonBody } from './optional-body.js'

const OwnerBody = Type.Object({ user_id: Type.Optional(USER_ID) })
const NotFound = { 404: ErrorRef }

const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  allowEmptyJsonBody(app)
  const userOf = (id: string | undefined) => id || app.config.DEFAULT_USER_ID || undefined

  app.post('/api/v1/sessions', {
    schema: {
      tags: ['sessions'],
      summary: 'Create a session (and its Coze conversation)',
      description: 'Optional: POST /api/v1/chat with a new session_id of your choosing also creates one. The answer carries the generated session_id.',
      body: CreateSessionBody,
      response: { 200: Envelope(SessionSchema, { session_id: Type.String(), conversation_id: Type.String() }), ...UpstreamErrors }
    }
  }, async (request) => {
    const userId = userOf(request.body.user_id)
    if (!userId) throw errors.userIdRequired()
    const botId = request.body.bot_id || app.config.COZE_BOT_ID
    if (!botId) throw errors.botIdRequired()
    const r = await app.sessions.create(userId, botId, true, request.clientGone)
    return ok('Session created', sessionView(r), { session_id: r.session_id, conversation_id: r.conversation_id })
  })

  app.get('/api/v1/sessions', {
    schema: {
      tags: ['sessions'],
      summary: 'A user\'s sessions, most recently active first, paged',
      querystring: Type.Object({ user_id: Type.Optional(USER_ID), ...PageQuery }),
      response: { 200: Envelope(Type.Array(SessionSchema), { pagination: Pagination }), ...CommonErrors, 503: ErrorRef }
    }
  }, async (request) => {
    const { page_num: pageNum, page_size: pageSize } = request.query
    const userId = userOf(request.query.user_id)
    if (!userId) throw errors.userIdRequired('GET /api/v1/sessions?user_id=<your end user\'s id>')
    const page = await app.sessions.list(userId, pageNum, pageSize)
    return ok('Sessions retrieved successfully', page.items.map(sessionView), {
      pagination: { page_num: pageNum, page_size: pageSize, total_count: page.total, has_more: pageNum * pageSize < page.total }
    })
  })

  app.get('/api/v1/sessions/:session_id', {
    schema: {
      tags: ['sessions'],
      summary: 'A session\'s info',
      params: SessionParams,
      querystring: OwnerQuery,
      response: { 200: Envelope(SessionSchema), ...CommonErrors, ...NotFound, 503: ErrorRef }
    }
  }, async (request) => {
    const r = await app.sessions.find(request.params.session_id, request.query.user_id)
    return ok('Session retrieved successfully', sessionView(r))
  })

  app.post('/api/v1/sessions/:session_id/clear', {
    schema: {
      tags: ['sessions'],
      summary: 'Clear a session: the bot no longer sees earlier turns',
      description: 'Clears the Coze conversation (a new section starts), after any running chat of the session has finished. ' +
        'message_count goes back to 0; cleared_at says when. user_id may be given in the query or the JSON body.',
      params: SessionParams,
      querystring: OwnerQuery,
      body: OwnerBody,
      response: { 200: Envelope(SessionSchema, { cleared_at: Timestamp }), ...UpstreamErrors }
    }
  }, async (request) => {
    const userId = request.query.user_id ?? request.body.user_id
    const r = await app.sessions.clear(request.params.session_id, userId, request.clientGone)
    const view = sessionView(r)
    return ok('Session cleared: the bot no longer sees earlier turns', view, { cleared_at: view.cleared_at })
  })

  app.delete('/api/v1/sessions/:session_id', {
    schema: {
      tags: ['sessions'],
      summary: 'Delete a session',
      description: 'Removes the session record. Its Coze conversation stays in Coze and can still be read through /api/v1/conversations/{id}/messages.',
      params: SessionParams,
      querystring: OwnerQuery,
      response: { 200: Envelope(Type.Object({ session_id: Type.String(), deleted: Type.Boolean() }, { examples: [{ session_id: 'demo_session_1', deleted: true }] })), ...CommonErrors, ...NotFound, 503: ErrorRef }
    }
  }, async (request) => {
    const r = await app.sessions.remove(request.params.session_id, request.query.user_id)
    return ok('Session deleted', { session_id: r.session_id, deleted: true })
  })
}

export default sessionRoutes
