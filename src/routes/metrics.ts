// GET /metrics: the Prometheus text format (prom-client), off the rate limiter and logged
// at debug. METRICS_TOKEN: a bearer token is required. METRICS_PORT: served by a second
// listener of its own (only /metrics there), and not on the main port. METRICS_ENABLED=false:
// nowhere.
import { createHash, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { errors, type GatewayError } from '../errors.js'
import { errorBody } from '../wires/api.js'
import { ErrorRef } from '../schemas/common.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The METRICS_PORT listener's address, once it listens (null without METRICS_PORT). */
    metricsAddress (): AddressInfo | null
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest()

/** Whether an Authorization header carries the token (compared in constant time). */
export function bearerMatches (header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token))
}

export default fp(async function metricsRoutes (app: FastifyInstance) {
  const { METRICS_ENABLED: enabled, METRICS_TOKEN: token, METRICS_PORT: port } = app.config
  const registry = app.metrics.registry
  const allowed = (authorization: string | undefined) => !token || bearerMatches(authorization, token)
  const server = enabled && port !== undefined ? http.createServer() : undefined
  app.decorate('metricsAddress', () => (server?.address() as AddressInfo | null | undefined) ?? null)
  if (!enabled) return

  if (!server) {
    app.get('/metrics', {
      config: { rateLimit: false },
      schema: {
        tags: ['system'],
        summary: 'Prometheus metrics (text format)',
        description: 'Names start with coze_gateway_ (plus the process\'s default metrics). With METRICS_TOKEN set: `Authorization: Bearer <METRICS_TOKEN>`, else 401. ' +
          'See README "Observability" for the list.',
        response: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: Type.String() } } }, 401: ErrorRef }
      }
    }, async (request, reply) => {
      if (!allowed(request.headers.authorization)) throw errors.metricsUnauthorized()
      return reply.type(registry.contentType).send(await registry.metrics())
    })
    return
  }

  const send = (res: http.ServerResponse, e: GatewayError) => {
    res.writeHead(e.statusCode, { 'content-type': 'application/json; charset=utf-8', ...e.headers })
    res.end(JSON.stringify(errorBody(e)))
  }
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== '/metrics') return send(res, errors.routeNotFound(req.method ?? 'GET', path ?? '/'))
    if (!allowed(req.headers.authorization)) return send(res, errors.metricsUnauthorized())
    registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': registry.contentType })
      res.end(req.method === 'HEAD' ? undefined : text)
    }, (err: unknown) => {
      app.log.error({ err }, 'rendering the metrics failed')
      send(res, errors.internal(err))
    })
  })
  app.addHook('onReady', async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, app.config.METRICS_HOST || app.config.HOST, () => { server.off('error', reject); resolve() })
    })
    app.log.info({ address: server.address() }, 'metrics listener on METRICS_PORT')
  })
  app.addHook('onClose', async () => {
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
}, { name: 'metrics-routes', dependencies: ['observability'] })
