// /api/v1/conversations: create and list Coze conversations, and read their history.
// Conversations made through the gateway belong to a user_id; another user gets 404.
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { RoleType } from '../coze/sdk.js'
import { ok } from '../envelope.js'
import { errors } from '../errors.js'
import { listConversations, listMessages, type Conversation } from '../coze/conversations.js'
import { Envelope, PageNum, PageSize, UpstreamErrors } from '../schemas/common.js'
import { ConversationSchema, CreateConversationBody, MessageSchema, USER_ID } from '../schemas/sessions.js'
import { allowEmptyJsonBody } from './optional-body.js'
import { upstreamOptions } from '../plugins/request-context.js'
import { COZE_ID_PATTERN } from '../schemas/ids.js'
import { isoFromUnix } from '../time.js'

const ID = Type.String({ pattern: COZE_ID_PATTERN })

const MessagesPaging = Type.Object({
  first_id: Type.String(),
  last_id: Type.String(),
  has_more: Type.Boolean(),
  order: Type.String(),
  limit: Type.Integer()
})

function conversationView (c: Conversation, owner: { user_id: string | null, key_id?: string }, botId?: string) {
  return {
    id: c.id,
    conversation_id: c.id,
    ...(botId ? { bot_id: botId } : {}),
    ...owner,
    created_at: isoFromUnix(c.created_at),
    meta_data: c.meta_data ?? {},
    ...(c.last_section_id ? { last_section_id: c.last_section_id } : {})
  }
}

const conversationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  allowEmptyJsonBody(app)
  const userOf = (id: string | undefined) => id || app.config.DEFAULT_USER_ID || undefined
  const access = app.access

  app.post('/api/v1/conversations', {
    schema: {
      tags: ['conversations'],
      summary: 'Create a Coze conversation',
      description: 'Recorded as user_id\'s (or DEFAULT_USER_ID\'s): other users get 404 on it. Continue it with POST /api/v1/chat {conversation_id}.',
      body: CreateConversationBody,
      response: { 200: Envelope(ConversationSchema, { conversation_id: Type.String() }), ...UpstreamErrors }
    }
  }, async (request) => {
    const body = request.body
    const botId = body.bot_id || app.config.COZE_BOT_ID
    if (!botId) throw errors.botIdRequired()
    access.checkBot(request.principal, botId)
    const userId = userOf(body.user_id)
    const messages = body.messages?.map((m) => ({
      role: m.role === 'assistant' ? RoleType.Assistant : RoleType.User,
      type: m.role === 'assistant' ? 'answer' as const : 'question' as const,
      content: m.content,
      content_type: 'text' as const
    }))
    const conv = await app.sessions.createConversation(botId, access.ownerOf(request.principal, userId), request.clientGone, { messages, meta_data: body.meta_data }, undefined, request.observation)
    return ok('Conversation created', conversationView(conv, { user_id: userId ?? null }, botId), { conversation_id: conv.id })
  })

  app.get('/api/v1/conversations', {
    schema: {
      tags: ['conversations'],
      summary: 'A user\'s conversations with a bot, newest first, paged',
      description: 'Only the conversations the gateway recorded for user_id (with the key, when keys are on). ' +
        'Without user_id (and no DEFAULT_USER_ID): 400, except for a key with the account scope, which gets everyone\'s, with their owners.',
      querystring: Type.Object({
        bot_id: Type.Optional(Type.String({ minLength: 1, description: 'Defaults to COZE_BOT_ID' })),
        user_id: Type.Optional(USER_ID),
        page_num: PageNum(),
        page_size: PageSize(50)
      }),
      response: {
        200: Envelope(Type.Array(ConversationSchema), { pagination: Type.Object({ page_num: Type.Integer(), page_size: Type.Integer(), has_more: Type.Boolean() }), has_more: Type.Boolean() }),
        ...UpstreamErrors
      }
    }
  }, async (request, reply) => {
    const q = request.query
    const botId = q.bot_id || app.config.COZE_BOT_ID
    if (!botId) throw errors.invalid('bot_id is required: GET /api/v1/conversations?bot_id=<bot id> (or set COZE_BOT_ID)')
    const userId = userOf(q.user_id)
    if (!userId && !access.seesEveryone(request.principal)) {
      throw errors.userIdRequired('GET /api/v1/conversations?user_id=<your end user\'s id> lists that user\'s conversations (everyone\'s needs a gateway key with the account scope)')
    }
    access.checkBot(request.principal, botId)
    const owner = userId ? access.ownerOf(request.principal, userId) : undefined
    const res = await listConversations(app.coze, { bot_id: botId, page_num: q.page_num, page_size: q.page_size }, { ...upstreamOptions(request, reply), user: owner })
    const items = []
    for (const c of res.items) {
      const recorded = await app.sessions.conversationOwner(c.id)
      if (owner !== undefined && recorded !== owner) continue
      items.push(conversationView(c, owner !== undefined ? { user_id: userId! } : recorded !== undefined ? access.describeOwner(recorded) : { user_id: null }, botId))
    }
    const hasMore = res.has_more
    return ok('Conversations retrieved successfully', items, { pagination: { page_num: q.page_num, page_size: q.page_size, has_more: hasMore }, has_more: hasMore })
  })

  app.get('/api/v1/conversations/:conversation_id/messages', {
    schema: {
      tags: ['conversations'],
      summary: 'The messages of a conversation, paged (to show the history after a page reload)',
      description: 'order=desc (default, Coze\'s) gives the newest first: fetch older pages with before_id=<last_id>. ' +
        'order=asc gives the oldest first: fetch newer pages with after_id=<last_id>. Every turn stays listed after a clear.',
      params: Type.Object({ conversation_id: ID }),
      querystring: Type.Object({
        user_id: Type.Optional(USER_ID),
        order: Type.Union([Type.Literal('desc'), Type.Literal('asc')], { default: 'desc' }),
        limit: Type.Integer({ minimum: 1, maximum: 50, default: 20 }),
        before_id: Type.Optional(ID),
        after_id: Type.Optional(ID),
        chat_id: Type.Optional(ID)
      }),
      response: { 200: Envelope(Type.Array(MessageSchema), { pagination: MessagesPaging, first_id: Type.String(), last_id: Type.String(), has_more: Type.Boolean() }), ...UpstreamErrors }
    }
  }, async (request, reply) => {
    const { conversation_id: id } = request.params
    const q = request.query
    if (q.before_id && q.after_id) throw errors.invalid('Send before_id or after_id, not both.')
    const owner = access.ownerOf(request.principal, userOf(q.user_id))
    await app.sessions.checkConversation(id, owner, access.strictOwnership(request.principal))
    const res = await listMessages(app.coze, id, q, { ...upstreamOptions(request, reply), ...await app.sessions.routeOf(id, owner) })
    const messages = res.items.map((m) => ({ ...m, created_at: isoFromUnix(m.created_at) }))
    const page = { first_id: res.first_id, last_id: res.last_id, has_more: res.has_more }
    // Also at the top level, where Coze itself puts them.
    return ok('Messages retrieved successfully', messages, { pagination: { ...page, order: q.order, limit: q.limit }, ...page })
  })
}

export default conversationRoutes
