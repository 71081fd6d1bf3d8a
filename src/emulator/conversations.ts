import type { Ctx, RouteDef } from './runtime.js'
import type { Conversation, Message } from './state.js'
import { conversationView } from './state.js'
import { parseEnterMessages, storedMessage } from './chat.js'
import { sees } from './auth.js'
import { badRequest, notFound } from './errors.js'
import { newId, nowSec } from './ids.js'
import { paging } from './account.js'
import { sendJson, sendOk, sendOkTop } from './respond.js'

function stringMap (v: unknown): Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, string> : {}
}

function conversationOf (ctx: Ctx, id: string | undefined): Conversation {
  if (!id) throw badRequest('conversation_id is required')
  const conv = ctx.rt.store.conversations.get(id)
  if (!conv || !sees(ctx.principal, conv.owner)) throw notFound('conversation not found')
  return conv
}

function create (ctx: Ctx): void {
  const { body, rt } = ctx
  const botId = typeof body.bot_id === 'string' ? body.bot_id : ''
  const messages = parseEnterMessages(body.messages, 'messages')
  const conv = rt.store.createConversation(botId, stringMap(body.meta_data), typeof body.name === 'string' ? body.name : '', ctx.principal.scope)
  for (const m of messages) rt.store.appendMessage(conv, storedMessage(conv, m, '', botId))
  sendOk(ctx.res, ctx.logid, conversationView(conv), ctx.fault)
}

function retrieve (ctx: Ctx): void {
  sendOk(ctx.res, ctx.logid, conversationView(conversationOf(ctx, ctx.query.conversation_id)), ctx.fault)
}

function list (ctx: Ctx): void {
  const botId = ctx.query.bot_id
  if (!botId) throw badRequest('bot_id is required')
  const { page, size } = paging(ctx.query, 50, 50)
  const all: Conversation[] = []
  for (const c of ctx.rt.store.conversations.values()) if (c.bot_id === botId && sees(ctx.principal, c.owner)) all.push(c)
  // newest first unless sort_order=ASC
  if ((ctx.query.sort_order ?? 'DESC').toUpperCase() !== 'ASC') all.reverse()
  const items = all.slice((page - 1) * size, page * size)
  sendOk(ctx.res, ctx.logid, { conversations: items.map(conversationView), has_more: page * size < all.length }, ctx.fault)
}

function clear (ctx: Ctx): void {
  const conv = conversationOf(ctx, ctx.params[0])
  conv.last_section_id = newId()
  conv.updated_at = nowSec()
  conv.awaitingReply = undefined
  sendOk(ctx.res, ctx.logid, { id: conv.last_section_id, conversation_id: conv.id }, ctx.fault)
}

function listMessages (ctx: Ctx): void {
  const conv = conversationOf(ctx, ctx.query.conversation_id || (typeof ctx.body.conversation_id === 'string' ? ctx.body.conversation_id : undefined))
  const { body } = ctx
  const order = body.order === 'asc' ? 'asc' : 'desc'
  const rawLimit = Number(body.limit ?? 50)
  const limit = Math.min(50, Math.max(1, Number.isFinite(rawLimit) ? Math.floor(rawLimit) : 50))
  const chatId = typeof body.chat_id === 'string' && body.chat_id !== '' ? body.chat_id : undefined
  let msgs: Message[] = chatId ? conv.messages.filter((m) => m.chat_id === chatId) : conv.messages.slice()
  if (order === 'desc') msgs.reverse()
  const beforeId = typeof body.before_id === 'string' && body.before_id !== '' ? body.before_id : undefined
  const afterId = typeof body.after_id === 'string' && body.after_id !== '' ? body.after_id : undefined
  // before_id: messages older than it; after_id: messages newer than it (position in history)
  const pos = new Map(conv.messages.map((m, i) => [m.id, i]))
  if (beforeId !== undefined) {
    const p = pos.get(beforeId) ?? Infinity
    msgs = msgs.filter((m) => (pos.get(m.id) ?? 0) < p)
  }
  if (afterId !== undefined) {
    const p = pos.get(afterId) ?? -1
    msgs = msgs.filter((m) => (pos.get(m.id) ?? 0) > p)
  }
  const page = msgs.slice(0, limit)
  sendOkTop(ctx.res, ctx.logid, {
    data: page,
    first_id: page[0]?.id ?? '',
    last_id: page.at(-1)?.id ?? '',
    has_more: msgs.length > limit
  }, ctx.fault)
}

function createMessage (ctx: Ctx): void {
  const conv = conversationOf(ctx, ctx.query.conversation_id)
  const [m] = parseEnterMessages([ctx.body], 'message')
  const msg = storedMessage(conv, m!, '', conv.bot_id, stringMap(ctx.body.meta_data))
  ctx.rt.store.appendMessage(conv, msg)
  sendOk(ctx.res, ctx.logid, msg, ctx.fault)
}

function messageOf (ctx: Ctx): { conv: Conversation; msg: Message; index: number } {
  const conv = conversationOf(ctx, ctx.query.conversation_id)
  const id = ctx.query.message_id
  if (!id) throw badRequest('message_id is required')
  const index = conv.messages.findIndex((m) => m.id === id)
  if (index < 0) throw notFound('message not found')
  return { conv, msg: conv.messages[index]!, index }
}

function retrieveMessage (ctx: Ctx): void {
  sendOk(ctx.res, ctx.logid, messageOf(ctx).msg, ctx.fault)
}

function modifyMessage (ctx: Ctx): void {
  const { msg } = messageOf(ctx)
  const { body } = ctx
  if (typeof body.content === 'string') msg.content = body.content
  if (typeof body.content_type === 'string') msg.content_type = body.content_type
  if (body.meta_data !== undefined) msg.meta_data = stringMap(body.meta_data)
  msg.updated_at = nowSec()
  // this endpoint answers under `message`, not `data` (protocol §9)
  sendJson(ctx.res, ctx.logid, { code: 0, msg: '', message: msg, detail: { logid: ctx.logid } }, 200, ctx.fault)
}

function deleteMessage (ctx: Ctx): void {
  const { conv, msg, index } = messageOf(ctx)
  conv.messages.splice(index, 1)
  sendOk(ctx.res, ctx.logid, msg, ctx.fault)
}

export const conversationRoutes: RouteDef[] = [
  { method: 'POST', path: '/v1/conversation/create', handler: create },
  { method: 'GET', path: '/v1/conversation/retrieve', handler: retrieve },
  { method: 'GET', path: '/v1/conversations', handler: list },
  { method: 'POST', path: /^\/v1\/conversations\/([^/]+)\/clear$/, handler: clear },
  { method: 'POST', path: '/v1/conversation/message/list', handler: listMessages },
  { method: 'POST', path: '/v1/conversation/message/create', handler: createMessage },
  { method: 'GET', path: '/v1/conversation/message/retrieve', handler: retrieveMessage },
  { method: 'POST', path: '/v1/conversation/message/modify', handler: modifyMessage },
  { method: 'POST', path: '/v1/conversation/message/delete', handler: deleteMessage }
]
