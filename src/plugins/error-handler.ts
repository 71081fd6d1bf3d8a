// The one error handler: every failure becomes a GatewayError with the right status, is
// logged once (and noted for the request's log line), is counted when it is a refusal of
// the gateway's own (coze_gateway_refusals_total), and is rendered by the wire of the
// surface the route belongs to (the /api/v1 envelope, the chatbot service's {detail},
// OpenAI's {error}). A surface names itself with `config: { surface }` on its routes (see
// surfaceOf). Nothing internal leaks.
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import type { Config } from '../config.js'
import { ClientAbortError, errors, type ErrorCode, type GatewayError } from '../errors.js'
import type { RefusalReason } from '../metrics/metrics.js'
import { toClientError } from '../fastify-errors.js'
import { MAX_PARAM_CHARS } from '../schemas/ids.js'
import type { Surface } from '../chat/types.js'
import * as api from '../wires/api.js'
import * as chatbot from '../wires/chatbot.js'
import * as openai from '../wires/openai.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The client API the route belongs to: decides the error format. Default api. */
    surface?: Surface
  }
  interface FastifyRequest {
    /** The 4xx this request was refused with, for its log line. */
    refusal: { code: string, reason: string } | null
  }
}

type Limits = Pick<Config, 'MAX_UPLOAD_MB' | 'BODY_LIMIT_KB'>

interface ErrorWire { body (e: GatewayError): unknown, headers?: Record<string, string> }

const WIRES: Record<Surface, ErrorWire> = {
  api: { body: (e) => api.errorBody(e) },
  workflow: { body: (e) => api.errorBody(e) },
  chatbot: { body: chatbot.errorBody },
  openai: { body: openai.errorBody, headers: openai.ERROR_HEADERS }
}

/** The gateway's own refusals, by code (the same codes from Coze, e.g. 4016 or 4019, are Coze's answers, not refusals). */
const REFUSALS: Partial<Record<ErrorCode, RefusalReason>> = {
  RATE_LIMITED: 'rate_limited',
  QUOTA_EXCEEDED: 'quota_exceeded',
  TOO_MANY_STREAMS: 'too_many_streams',
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  CONVERSATION_BUSY: 'conversation_busy'
}

/** Marks every route registered after it in this plugin scope as `surface`'s (call inside the plugin). */
export function surfaceOf (app: FastifyInstance, surface: Surface): void {
  app.addHook('onRoute', (route) => { route.config = { ...route.config, surface } })
}

/** The surface of a URL no route matched (a bad URL, a parse error): by its prefix. */
export function surfaceForPath (url: string): Surface {
  if (url.startsWith('/v1/')) return 'openai'
  if (url === '/chat' || url.startsWith('/chat/') || url.startsWith('/chat?') || url.startsWith('/session/')) return 'chatbot'
  return 'api'
}

/** Logs and sends one error in the surface's format. */
export function sendError (request: FastifyRequest, reply: FastifyReply, err: unknown, surface: Surface, limits: Limits): FastifyReply | undefined {
  // The client left: there is no one to answer (the upstream call was already aborted).
  // The client left: there is no one to answer; its log line says so (observability).
  if (err instanceof ClientAbortError) return reply.code(499).send()
  const e = toClientError(err, { maxUploadMb: limits.MAX_UPLOAD_MB, bodyLimitKb: limits.BODY_LIMIT_KB, routeBodyLimit: request.routeOptions?.bodyLimit })
  // A framework error (a bad URL) comes before onRequest, so before the observation.
  if (request.observation) request.observation.error = { code: e.code, coze_code: e.cozeCode, logid: e.logid }
  const refusal = e.cozeCode === undefined ? REFUSALS[e.code] : undefined
  if (refusal) request.server.metrics.refused(refusal)
  if (e.statusCode >= 500 && e.code === 'INTERNAL_ERROR') {
    request.log.error({ err }, 'unhandled error')
  } else if (e.statusCode >= 500 || e.cozeCode !== undefined) {
    request.log.warn({ code: e.code, coze_code: e.cozeCode, logid: e.logid }, e.message)
  }
  if (e.statusCode < 500) request.refusal = { code: e.code, reason: e.message }
  if (reply.sent || reply.raw.headersSent) return undefined
  const wire = WIRES[surface]
  if (e.logid) void reply.header('x-coze-logid', e.logid)
  if (e.headers) void reply.headers(e.headers)
  if (wire.headers) void reply.headers(wire.headers)
  return reply.code(e.statusCode).send(wire.body(e))
}

/** Every route by method and path pattern, to tell "no such path" (404) from "wrong method" (405). */
class RouteTable {
  private readonly routes: Array<{ method: string, path: RegExp, route: RouteOptions }> = []

  add (route: RouteOptions): void {
    if (route.url === '*' || route.url === '/*') return
    const re = new RegExp(`^${route.url.split('/').map((seg) =>
      seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('/')}$`)
    for (const method of [route.method].flat()) this.routes.push({ method, path: re, route })
  }

  /** The 405 for a path that exists under other methods, in the surface of its routes. */
  notAllowed (method: string, url: string): { error: GatewayError, surface: Surface } | undefined {
    const path = url.split('?')[0] ?? '/'
    const matches = this.routes.filter((r) => r.path.test(path))
    const allow = [...new Set(matches.map((r) => r.method))].sort()
    // No such path, or a route of this method found nothing (a file route's missing file): 404.
    if (matches.length === 0 || allow.includes(method)) return undefined
    return { error: errors.methodNotAllowed(method, path, allow), surface: matches[0]!.route.config?.surface ?? 'api' }
  }
}

/** Fastify's frameworkErrors: a URL the router cannot read (bad percent-encoding, a path segment over the limit). */
export function frameworkError (limits: Limits) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '/'
    const e = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? errors.uriTooLong(MAX_PARAM_CHARS)
      : err.code === 'FST_ERR_BAD_URL' ? errors.invalidUrl(path) : toClientError(err, { maxUploadMb: limits.MAX_UPLOAD_MB, bodyLimitKb: limits.BODY_LIMIT_KB })
    // No route, so no request log line: this is it.
    request.log.info({ method: request.method, url: request.url, statusCode: e.statusCode, code: e.code }, `refused: ${e.message}`)
    return sendError(request, reply, e, surfaceForPath(request.url), limits)
  }
}

export default fp(async function errorHandler (app: FastifyInstance, opts: { limits: Limits }) {
  const table = new RouteTable()
  app.decorateRequest('refusal', null)
  app.addHook('onRoute', (route) => table.add(route))
  app.decorate('methodNotAllowed', (request: FastifyRequest, reply: FastifyReply) => {
    const hit = table.notAllowed(request.method, request.url)
    return hit ? sendError(request, reply, hit.error, hit.surface, opts.limits) : undefined
  })
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err, request.routeOptions.config.surface ?? 'api', opts.limits))

  app.setNotFoundHandler(app.rateLimit ? { preHandler: app.rateLimit() } : {}, (request, reply) => {
    return app.methodNotAllowed(request, reply) ??
      sendError(request, reply, errors.routeNotFound(request.method, request.url.split('?')[0] ?? '/'), 'api', opts.limits)
  })
}, { name: 'error-handler' })

declare module 'fastify' {
  interface FastifyInstance {
    /** Answers 405 (with Allow) when the path exists under other methods; undefined otherwise. For 404 handlers. */
    methodNotAllowed (request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined
  }
}
