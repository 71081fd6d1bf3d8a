// How every chat route answers: the service's events as SSE through the surface's wire,
// or drained into one JSON answer. The client-gone signal, the logid and the chat ids go
// along in the chat context.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { aggregateChat } from '../chat/aggregate.js'
import type { ChatContext, ChatEvent, ChatResult } from '../chat/types.js'
import { relaySse, type SseWire } from '../sse.js'

export function chatContext (reply: FastifyReply, signal: AbortSignal): ChatContext {
  const request = reply.request
  return { signal, onLogid: reply.onLogid, onChat: reply.onChat, observation: request.observation, principal: request.principal }
}

export async function answer<T> (
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  stream: boolean,
  run: (ctx: ChatContext) => AsyncIterable<ChatEvent>,
  wire: SseWire<ChatEvent>,
  json: (r: ChatResult) => T,
  /** Extra headers of the stream */
  headers?: Record<string, string>
): Promise<T> {
  // A stream is answered through the reply itself; Fastify ignores what the handler returns then.
  if (stream) return await relaySse(app, reply, (signal) => run(chatContext(reply, signal)), wire, headers) as T
  return json(await aggregateChat(run(chatContext(reply, request.clientGone))))
}
