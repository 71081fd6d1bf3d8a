// Per-request context every route shares: the request id, the start time, a signal that
// aborts when the client goes away, callbacks that put Coze's ids on the response while
// its headers can still be sent, the request's Observation (its Coze time, its chat, its
// error: Server-Timing, metrics, the log line).
import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ChatIds } from '../chat/types.js'
import type { CallOptions } from '../coze/client.js'
import { Observation } from '../metrics/observation.js'

declare module 'node:http' {
  interface IncomingMessage { startedAt: number }
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Aborts when the client closes the connection before the reply ended. (request.signal
     * cannot be used: on a POST it aborts as soon as the body has been read.)
     */
    readonly clientGone: AbortSignal
    /** @internal the response, for clientGone */
    res: ServerResponse | null
    /** @internal */
    goneController: AbortController | null
    /** What this request did, as measured: its Coze time, first delta, chat and error. */
    observation: Observation
  }
  interface FastifyReply {
    /** Puts the Coze logid on the response (x-coze-logid) if its headers are not sent yet. */
    readonly onLogid: (logid: string) => void
    /** Puts a chat's ids on the response (x-coze-conversation-id, x-coze-chat-id), likewise. */
    readonly onChat: (ids: ChatIds) => void
  }
}

const REQUEST_ID = /^[\w.:@-]{1,128}$/

/** Fastify's genReqId: the client's x-request-id when it is a sane id, else a new UUID. */
export function requestId (req: { headers: Record<string, string | string[] | undefined> }): string {
  const h = req.headers['x-request-id']
  return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID()
}

/** The options of a Coze call made for `request`: its client-gone signal, its logid header, its clock. */
export function upstreamOptions (request: FastifyRequest, reply: FastifyReply): Pick<CallOptions, 'signal' | 'onLogid' | 'clock'> {
  return { signal: request.clientGone, onLogid: reply.onLogid, clock: request.observation }
}

export default fp(async function requestContext (app: FastifyInstance) {
  app.decorateRequest('res', null)
  app.decorateRequest('goneController', null)
  app.decorateRequest('observation', null as unknown as Observation)
  app.decorateRequest('clientGone', {
    getter () {
      if (!this.goneController) {
        const ac = new AbortController()
        const res = this.res
        this.goneController = ac
        if (res) res.once('close', () => { if (!res.writableEnded) ac.abort() })
      }
      return this.goneController.signal
    }
  })
  app.decorateReply('onLogid', {
    getter (this: FastifyReply) {
      return (logid: string) => { if (!this.sent) void this.header('x-coze-logid', logid) }
    }
  })
  app.decorateReply('onChat', {
    getter (this: FastifyReply) {
      return (ids: ChatIds) => { if (!this.sent) void this.header('x-coze-conversation-id', ids.conversation_id).header('x-coze-chat-id', ids.chat_id) }
    }
  })

  app.addHook('onRequest', (request, reply, done) => {
    request.raw.startedAt = performance.now()
    request.observation = new Observation(request.raw.startedAt)
    request.res = reply.raw
    void reply.header('x-request-id', request.id)
    done()
  })
}, { name: 'request-context' })
