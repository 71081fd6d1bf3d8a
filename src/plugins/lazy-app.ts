// Pages a start does not need (Swagger UI, the playground) and the packages that serve
// them are loaded on their first request, not at start (cold start). Fastify takes no
// routes once it listens, so such a page runs in a small Fastify instance of its own,
// made on the first request, that the gateway's routes forward to (`inject`, the answer
// streamed). The answer goes out through the gateway's reply: its hooks (security headers,
// CORS, the request log, metrics) apply, and a refused or missing file is the gateway's
// own 404.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../errors.js'

/** Response headers of the inner instance that are about its (simulated) connection. */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date'])

/** A handler that answers from the instance `load` makes on the first request; it is closed with `app`. */
export function lazyApp (app: FastifyInstance, load: () => Promise<FastifyInstance>) {
  let inner: Promise<FastifyInstance> | undefined
  app.addHook('onClose', async () => { await (await inner?.catch(() => undefined))?.close() })
  return async (request: FastifyRequest, reply: FastifyReply) => {
    // a failed load (a missing package) is tried again on the next request
    inner ??= load().then(async (i) => { await i.ready(); return i }).catch((err: unknown) => { inner = undefined; throw err })
    const res = await (await inner).inject({ method: request.method as 'GET' | 'HEAD', url: request.url, headers: request.headers, payloadAsStream: true })
    if (res.statusCode >= 400) {
      res.stream().resume()
      // 403 or 404 from the file server: a plain 404 says nothing about the disk
      if (res.statusCode < 500) return reply.callNotFound()
      throw errors.internal()
    }
    for (const [name, value] of Object.entries(res.headers)) if (!HOP_HEADERS.has(name) && value !== undefined) void reply.header(name, value)
    return reply.code(res.statusCode).send(res.stream())
  }
}
