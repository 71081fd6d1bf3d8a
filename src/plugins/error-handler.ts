// The one error handler: every failure becomes a GatewayError with the right status, is
// logged once (and noted for the request's log line), is counted when it is a refusal of
// the gateway's own (coze_gateway_refusals_total), and is rendered by the wire of the
// surface the route belongs to (the /api/v1 envelope, the chatbot service's {detail},
// OpenAI's {error}). A surface names itself with `config: { surface }` on its routes (see
// surfaceOf). Nothing internal leaks.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ClientAbortError, errors, type ErrorCode, type GatewayError } from '../errors.js'
import type { RefusalReason } from '../metrics/metrics.js'
import { toClientError } from '../fastify-errors.js'
import type { Surface } from '../chat/types.js'
import * as api from '../wires/api.js'
import * as chatbot from '../wires/chatbot.js'
import * as openai from '../wires/openai.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The client API the route belongs to: decides the error format. Default api. */
    surface?: Surface
  }
}

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

/** Logs and sends one error in the surface's format. */
export function sendError (request: FastifyRequest, reply: FastifyReply, err: unknown, surface: Surface, maxUploadMb: number): FastifyReply | undefined {
  // The client left: there is no one to answer (the upstream call was already aborted).
  if (err instanceof ClientAbortError) return reply.code(499).send()
  const e = toClientError(err, maxUploadMb)
  request.observation.error = { code: e.code, coze_code: e.cozeCode, logid: e.logid }
  const refusal = e.cozeCode === undefined ? REFUSALS[e.code] : undefined
  if (refusal) request.server.metrics.refused(refusal)
  if (e.statusCode >= 500 && e.code === 'INTERNAL_ERROR') {
    request.log.error({ err }, 'unhandled error')
  } else if (e.statusCode >= 500 || e.cozeCode !== undefined) {
    request.log.warn({ code: e.code, coze_code: e.cozeCode, logid: e.logid }, e.message)
  }
  if (reply.sent || reply.raw.headersSent) return undefined
  const wire = WIRES[surface]
  if (e.logid) void reply.header('x-coze-logid', e.logid)
  if (e.headers) void reply.headers(e.headers)
  if (wire.headers) void reply.headers(wire.headers)
  return reply.code(e.statusCode).send(wire.body(e))
}

export default fp(async function errorHandler (app: FastifyInstance, opts: { maxUploadMb: number }) {
  app.setErrorHandler((err, request, reply) => sendError(request, reply, err, request.routeOptions.config.surface ?? 'api', opts.maxUploadMb))

  app.setNotFoundHandler(app.rateLimit ? { preHandler: app.rateLimit() } : {}, (request, reply) => {
    return sendError(request, reply, errors.routeNotFound(request.method, request.url.split('?')[0] ?? '/'), 'api', opts.maxUploadMb)
  })
}, { name: 'error-handler' })
