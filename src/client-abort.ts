import type { FastifyReply } from 'fastify'

/**
 * Aborts when the client closes the connection before the reply ended.
 * (request.signal cannot be used: on a POST it aborts as soon as the body is read.)
 */
export function clientAbortSignal (reply: FastifyReply): AbortSignal {
  const ac = new AbortController()
  reply.raw.once('close', () => { if (!reply.raw.writableEnded) ac.abort() })
  return ac.signal
}
