// The gateway measured by itself: the Metrics object every layer records through, the
// Coze client's reports (metrics and the upstream state), the Server-Timing header of
// JSON answers, and per request one metrics update and one log line (probes at debug).
import fp from 'fastify-plugin'
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { Metrics } from '../metrics/metrics.js'
import type { Config } from '../config.js'
import { PROBE_PATHS } from '../public-routes.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}


/** The bots and chatflows that get a `bot` label value of their own: the configured ones. */
export function configuredBots (config: Pick<Config, 'COZE_BOT_ID' | 'modelMap' | 'chatflowMap'>): string[] {
  const def = config.COZE_BOT_ID
  const defBot = Object.hasOwn(config.modelMap, def) ? config.modelMap[def]! : Object.hasOwn(config.chatflowMap, def) ? config.chatflowMap[def]!.workflow_id : def
  return [defBot, ...Object.values(config.modelMap), ...Object.values(config.chatflowMap).map((c) => c.workflow_id)].filter(Boolean)
}

export default fp(async function observability (app: FastifyInstance) {
  const config = app.config
  const metrics = new Metrics({ enabled: config.METRICS_ENABLED, version: config.version, upstreamMode: config.upstreamMode, bots: configuredBots(config), credentials: () => app.coze.credentials.snapshot() })
  app.decorate('metrics', metrics)
  app.coze.recorder = {
    upstream (endpoint, outcome, cozeCode, err) {
      metrics.upstream(endpoint, outcome, cozeCode)
      if (outcome !== 'aborted') app.upstream.report(err)
    }
  }

  app.addHook('onSend', (request, reply, payload, done) => {
    const obs = request.observation
    const type = reply.getHeader('content-type')
    if (!obs.streamed && typeof type === 'string' && type.includes('json')) {
      const s = obs.splitNow()
      obs.split = s
      void reply.header('server-timing', `upstream;dur=${s.upstream_ms}, gateway;dur=${s.gateway_ms}`)
    }
    done(null, payload)
  })

  /** Once per request: the HTTP metrics and the log line. */
  const ended = (request: FastifyRequest, reply: FastifyReply, aborted: boolean) => {
    const obs = request.observation
    if (obs.ended) return
    obs.ended = true
    const route = request.routeOptions.url
    const ms = aborted ? performance.now() - obs.startedAt : reply.elapsedTime
    // a client that left before any answer: 499, the status proxies log for it
    const status = aborted && !reply.raw.headersSent ? 499 : reply.statusCode
    metrics.http(route, request.method, status, ms)
    if (obs.split && obs.calls > 0) metrics.jsonAnswered(request.routeOptions.config.surface ?? 'api', obs.split.gateway_ms, obs.deltaArrivedMs)
    // a load balancer's polling does not fill the log
    const probe = status < 400 && route !== undefined && PROBE_PATHS.has(route)
    // the line is built only when it is written (LOG_LEVEL=warn writes none)
    if (!levelEnabled(request.log, probe ? 'debug' : 'info')) return
    const line = logLine(request, reply, route, status, ms, aborted)
    if (probe) request.log.debug(line, 'request')
    else request.log.info(line, aborted ? 'request aborted by the client' : 'request')
  }

  app.addHook('onRequest', (request, reply, done) => {
    // Fastify's onResponse never comes for an answer the client left in the middle of (a stream it closed).
    reply.raw.once('close', () => { if (!reply.raw.writableFinished) ended(request, reply, true) })
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    ended(request, reply, false)
    done()
  })
}, { name: 'observability', dependencies: ['request-context'] })

/** pino's isLevelEnabled; a logger without it (a custom one) gets every line. */
function levelEnabled (log: FastifyBaseLogger, level: 'debug' | 'info'): boolean {
  return (log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled?.(level) ?? true
}

/**
 * The one log line of a request: what it was (route pattern, key), how it ended, and for a
 * chat its bot, ids, time to first delta and tokens; for an error its codes and logid.
 */
function logLine (request: FastifyRequest, reply: FastifyReply, route: string | undefined, status: number, ms: number, aborted: boolean): Record<string, unknown> {
  const obs = request.observation
  const logid = obs.error?.logid ?? reply.getHeader('x-coze-logid')
  const line: Record<string, unknown> = {
    method: request.method,
    url: request.url,
    route: route ?? null,
    statusCode: status,
    ms: Math.round(ms),
    key: request.principal?.id ?? 'none'
  }
  if (aborted) line.aborted = true
  if (logid) line.logid = logid
  if (obs.calls > 0) {
    const s = obs.split ?? obs.splitNow()
    line.upstream_ms = s.upstream_ms
    line.gateway_ms = s.gateway_ms
  }
  const chat = obs.chat
  if (chat) {
    if (chat.bot) line.bot = chat.bot
    if (chat.workflow_id) line.workflow_id = chat.workflow_id
    line.conversation_id = chat.conversation_id
    line.chat_id = chat.chat_id
    const firstDelta = obs.firstDeltaMs ?? obs.deltaArrivedMs
    if (firstDelta !== undefined) line.first_delta_ms = Math.round(firstDelta * 10) / 10
    if (chat.usage) line.tokens = { input: chat.usage.input_count, output: chat.usage.output_count }
  }
  if (obs.error) {
    line.code = obs.error.code
    if (obs.error.coze_code !== undefined) line.coze_code = obs.error.coze_code
  }
  if (request.refusal) line.reason = request.refusal.reason
  return line
}
