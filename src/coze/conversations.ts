// Coze conversations and their messages: create, retrieve, clear, list, read the history.
import { Type } from 'typebox'
import type { EnterMessage } from '@coze/api'
import { cozeCall, type CallOptions, type CozeClient } from './client.js'
import { decoder } from './decode.js'

const Str = Type.String()
const OptStr = Type.Optional(Type.Union([Type.String(), Type.Null()]))
const OptInt = Type.Optional(Type.Union([Type.Integer(), Type.Null()]))
const MetaData = Type.Optional(Type.Union([Type.Null(), Type.Record(Type.String(), Type.String())]))

const ConversationSchema = Type.Object({ id: Str, created_at: Type.Integer(), meta_data: MetaData, last_section_id: OptStr })
const decodeConversation = decoder(ConversationSchema, 'a conversation')
const decodeList = decoder(Type.Object({
  conversations: Type.Optional(Type.Union([Type.Null(), Type.Array(ConversationSchema)])),
  has_more: Type.Optional(Type.Boolean())
}), 'a conversation list')

const MessageSchema = Type.Object({
  id: Str,
  conversation_id: Str,
  chat_id: OptStr,
  bot_id: OptStr,
  role: Str,
  type: OptStr,
  content: Str,
  content_type: Str,
  created_at: OptInt,
  section_id: OptStr
})
const decodeMessages = decoder(Type.Object({
  data: Type.Optional(Type.Union([Type.Null(), Type.Array(MessageSchema)])),
  first_id: OptStr,
  last_id: OptStr,
  has_more: Type.Optional(Type.Boolean())
}), 'a message list')

export interface Conversation { id: string, created_at: number, meta_data: Record<string, string>, last_section_id?: string }
export interface ConversationMessage {
  id: string
  conversation_id: string
  chat_id: string
  bot_id: string
  role: string
  type: string
  content: string
  content_type: string
  created_at: number | null
  section_id: string | null
}
export interface MessagePage { items: ConversationMessage[], first_id: string, last_id: string, has_more: boolean }
export interface MessageQuery { order: 'asc' | 'desc', limit: number, before_id?: string | undefined, after_id?: string | undefined, chat_id?: string | undefined }

function view (c: { id: string, created_at: number, meta_data?: Record<string, string> | null, last_section_id?: string | null }): Conversation {
  return { id: c.id, created_at: c.created_at, meta_data: c.meta_data ?? {}, ...(c.last_section_id ? { last_section_id: c.last_section_id } : {}) }
}

export async function createConversation (coze: CozeClient, p: { bot_id: string, messages?: EnterMessage[] | undefined, meta_data?: Record<string, string> | undefined }, o: CallOptions = {}): Promise<Conversation> {
  const body = { bot_id: p.bot_id, ...(p.messages ? { messages: p.messages } : {}), ...(p.meta_data ? { meta_data: p.meta_data } : {}) }
  return view(decodeConversation(await cozeCall(coze, o, (opts, api) => api.conversations.create(body, opts))))
}

export async function retrieveConversation (coze: CozeClient, conversationId: string, o: CallOptions = {}): Promise<Conversation> {
  return view(decodeConversation(await cozeCall(coze, o, (opts, api) => api.conversations.retrieve(conversationId, opts))))
}

/** A new section: the bot no longer sees earlier turns. */
export async function clearConversation (coze: CozeClient, conversationId: string, o: CallOptions = {}): Promise<void> {
  await cozeCall(coze, o, (opts, api) => api.conversations.clear(conversationId, opts))
}

export async function listConversations (coze: CozeClient, p: { bot_id: string, page_num: number, page_size: number }, o: CallOptions = {}): Promise<{ items: Conversation[], has_more: boolean }> {
  const res = decodeList(await cozeCall(coze, o, (opts, api) => api.conversations.list(p, opts)))
  return { items: (res.conversations ?? []).map(view), has_more: res.has_more === true }
}

export async function listMessages (coze: CozeClient, conversationId: string, q: MessageQuery, o: CallOptions = {}): Promise<MessagePage> {
  const params = {
    order: q.order,
    limit: q.limit,
    ...(q.before_id ? { before_id: q.before_id } : {}),
    ...(q.after_id ? { after_id: q.after_id } : {}),
    ...(q.chat_id ? { chat_id: q.chat_id } : {})
  }
  const res = decodeMessages(await cozeCall(coze, o, (opts, api) => api.conversations.messages.list(conversationId, params, opts)))
  return {
    items: (res.data ?? []).map((m) => ({
      id: m.id,
      conversation_id: m.conversation_id,
      chat_id: m.chat_id ?? '',
      bot_id: m.bot_id ?? '',
      role: m.role,
      type: m.type ?? '',
      content: m.content,
      content_type: m.content_type,
      created_at: m.created_at ?? null,
      section_id: m.section_id ?? null
    })),
    first_id: res.first_id ?? '',
    last_id: res.last_id ?? '',
    has_more: res.has_more === true
  }
}
