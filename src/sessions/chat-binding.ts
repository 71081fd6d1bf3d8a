// How one chat request binds to a session or conversation: who the user is, which bot,
// whether Coze already holds the history, the guard that serializes the chat, and the
// extra reply fields. Shared by POST /api/v1/chat and the simple chat API.
import { toCozeMessages, type GatewayMessage } from '../coze/messages.js'
import { badRequest } from '../errors.js'
import { sessionNotFound } from './errors.js'
import type { SessionService } from './service.js'
import type { ChatGuard } from './types.js'

export interface ChatRequest {
  session_id?: string | undefined
  conversation_id?: string | undefined
  user_id?: string | undefined
  bot_id?: string | undefined
  messages: GatewayMessage[]
}

export interface ChatBinding {
  /** user_id / bot_id for the turn (undefined: the route's own default applies) */
  userId: string | undefined
  botId: string | undefined
  upstreamHoldsHistory: boolean
  guard: ChatGuard
  /** Fields added to the reply data and top level (and to the SSE chat_completed frame). */
  reply: Record<string, unknown> | undefined
}

export interface BindingDefaults {
  /** The user of a request that names none, unless the session already has one. */
  userId: string | undefined
  botId: string | undefined
  /** A request without user_id continues an existing session as the session's own user. */
  inheritUser?: boolean
}

export async function bindChat (sessions: SessionService, req: ChatRequest, defaults: BindingDefaults): Promise<ChatBinding> {
  if (!req.session_id) {
    const userId = req.user_id || defaults.userId
    // Fast 404 for someone else's conversation, before any queueing.
    if (req.conversation_id) await sessions.checkConversation(req.conversation_id, userId)
    return {
      userId,
      botId: req.bot_id || defaults.botId,
      upstreamHoldsHistory: Boolean(req.conversation_id),
      guard: userId ? sessions.conversationChat(req.conversation_id, userId) : passThrough,
      reply: undefined
    }
  }

  const sessionId = req.session_id
  const existing = await sessions.peek(sessionId)
  const userId = req.user_id || (defaults.inheritUser ? existing?.user_id : undefined) || defaults.userId
  if (!userId) throw badRequest('user_id is required: send the id of your end user (or set DEFAULT_USER_ID on the gateway)')
  if (existing && existing.user_id !== userId) throw sessionNotFound(sessionId)
  const botId = req.bot_id || existing?.bot_id || defaults.botId
  if (!botId) throw badRequest('bot_id is required either in request or environment variable COZE_BOT_ID')
  if (existing && botId !== existing.bot_id) {
    throw badRequest(`Session ${sessionId} is bound to bot ${existing.bot_id}: omit bot_id, or start a new session for another bot.`)
  }
  if (existing?.conversation_id && req.conversation_id && req.conversation_id !== existing.conversation_id) {
    throw badRequest(`Session ${sessionId} is bound to conversation ${existing.conversation_id}: omit conversation_id, or send the session's own.`)
  }
  if (!existing && req.conversation_id) await sessions.checkConversation(req.conversation_id, userId)
  const messages = req.messages
  return {
    userId,
    botId,
    upstreamHoldsHistory: true,
    guard: sessions.sessionChat({
      sessionId,
      userId,
      botId,
      conversationId: req.conversation_id,
      messages: (fresh) => toCozeMessages(messages, !fresh)
    }),
    reply: { session_id: sessionId }
  }
}

const passThrough: ChatGuard = (_signal, run) => run({})
