// The errors of sessions, conversations and the chat queue. A resource owned by another
// user gets exactly the same 404 as one that does not exist.
import { GatewayError } from '../errors.js'

export const sessionNotFound = (sessionId: string) =>
  new GatewayError(404, 'NOT_FOUND', `Session ${sessionId} not found (it may have expired).`)

export const conversationNotFound = (conversationId: string) =>
  new GatewayError(404, 'NOT_FOUND', `Conversation ${conversationId} not found.`)

export const queueTimeout = (timeoutMs: number) =>
  new GatewayError(409, 'CONVERSATION_BUSY',
    `Another chat on this session or conversation is still running, and it did not finish within ${timeoutMs} ms (CHAT_QUEUE_TIMEOUT_MS). Retry when it has finished.`)

export const storeUnavailable = (cause: unknown) =>
  new GatewayError(503, 'SESSION_STORE_UNAVAILABLE', 'The session store is unavailable; retry shortly.', { cause })
