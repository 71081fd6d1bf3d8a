// /api/v1/sessions: server-side chat sessions. Chat on one with POST /api/v1/chat {session_id}.
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { errors } from '../errors.js'
import { sessionView } from '../sessions/view.js'
import { CommonErrors, Envelope, ErrorRef, Timestamp, UpstreamErrors } from '../schemas/common.js'
import { CreateSessionBody, OwnerQuery, PageQuery, Pagination, SessionParams, SessionSchema, USER_ID } from '../schemas/sessions.js'
import { allowEmptyJsonBody } from './optional-body.js'
import type { FastifyRequest } from 'fastify'
import type { SessionRecord } from '../sessions/types.js'

const OwnerBody = Type.Object({ user_id: Type.Optional(USER_ID) })
const NotFound = { 404: ErrorRef }

const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  allowEmptyJsonBody(app)
  const userOf = (id: string | undefined) => id || app.config.DEFAULT_USER_ID || undefined
  // Sessions are owned by user_id, and by the key too when keys are on.
  const ownerOf = (request: FastifyRequest, id: string | undefined) => app.access.ownerOf(request.principal, userOf(id))
  const view = (request: FastifyRequest, r: SessionRecord) => sessionView(r, app.access.userOf(request.principal, r.user_id))

  app.post('/api/v1/sessions', {
    schema: {
      tags: ['sessions'],
      summary: 'Create a session (and its Coze conversation)',
      description: 'Optional: POST /api/v1/chat with a new session_id of your choosing also creates one. The answer carries the generated session_id.',
      body: CreateSessionBody,
      response: { 200: Envelope(SessionSchema, { session_id: Type.String(), conversation_id: Type.String() }), ...UpstreamErrors }
    }
  }, async (request) => {
    const owner = ownerOf(request, request.body.user_id)
    if (!userOf(request.body.user_id) || !owner) throw errors.userIdRequired()
    const botId = request.body.bot_id || app.config.COZE_BOT_ID
    if (!botId) throw errors.botIdRequired()
    app.access.checkBot(request.principal, botId)
    const r = await app.sessions.create(owner, botId, true, request.clientGone, request.observation)
    return ok('Session created', view(request, r), { session_id: r.session_id, conversation_id: r.conversation_id })
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
    const owner = ownerOf(request, request.query.user_id)
    if (!userOf(request.query.user_id) || !owner) throw errors.userIdRequired('GET /api/v1/sessions?user_id=<your end user\'s id>')
    const page = await app.sessions.list(owner, pageNum, pageSize)
    return ok('Sessions retrieved successfully', page.items.map((r) => view(request, r)), {
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
    const r = await app.sessions.find(request.params.session_id, ownerOf(request, request.query.user_id))
    return ok('Session retrieved successfully', view(request, r))
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
    const owner = ownerOf(request, request.query.user_id ?? request.body.user_id)
    const r = await app.sessions.clear(request.params.session_id, owner, request.clientGone, request.observation)
    const shown = view(request, r)
    return ok('Session cleared: the bot no longer sees earlier turns', shown, { cleared_at: shown.cleared_at })
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
    const r = await app.sessions.remove(request.params.session_id, ownerOf(request, request.query.user_id))
    return ok('Session deleted', { session_id: r.session_id, deleted: true })
  })
}

export default sessionRoutes
