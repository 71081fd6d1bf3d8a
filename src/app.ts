// buildApp(config, deps) → a ready-to-listen Fastify instance. Never listens and never
// reads process.env: server.ts and the tests own those.
import type { Socket } from 'node:net'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import multipart from '@fastify/multipart'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config.js'
import { parseTrustProxy } from './trust-proxy.js'
import { createCozeClient, type CozeClient } from './coze/client.js'
import { getMe } from './coze/account.js'
import { CredentialPool } from './coze/credentials.js'
import { credentialsOf } from './credentials-config.js'
import { errors } from './errors.js'
import type { SseStream } from './sse.js'
import errorHandler, { frameworkError } from './plugins/error-handler.js'
import requestLimits, { clientErrorHandler, serverTimeouts } from './plugins/request-limits.js'
import cors from './plugins/cors.js'
import requestContext, { requestId } from './plugins/request-context.js'
import observability from './plugins/observability.js'
import swagger from './plugins/swagger.js'
import securityHeaders from './plugins/security-headers.js'
import accessControl, { rateLimitStore } from './access/plugin.js'
import chat from './chat/plugin.js'
import { UpstreamHealth } from './upstream-health.js'
import { Readiness } from './readiness.js'
import { registerRoutes } from './routes/index.js'
import { FORM_FIELD_MAX_BYTES } from './routes/multipart-file.js'
import { cachingSerializerFactory } from './serializer-cache.js'
import { validatorFactory } from './validation.js'
import { LazySchemas } from './lazy-schemas.js'
import { useJsonParser } from './json-body.js'
import { MAX_PARAM_CHARS } from './schemas/ids.js'
import { isPublicRoute } from './public-routes.js'

export interface AppDeps {
  /** A prebuilt Coze client (tests); by default one is built from the config. */
  coze?: CozeClient
  /** Logger options or instance; by default pino at LOG_LEVEL. */
  logger?: FastifyServerOptions['logger'] | FastifyServerOptions['loggerInstance']
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    coze: CozeClient
    sseStreams: Set<SseStream>
    upstream: UpstreamHealth
    readiness: Readiness
    /** The route schemas, each compiled on its first use (lazy-schemas.ts) */
    lazySchemas: LazySchemas
  }
}

export async function buildApp (config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const loggerOpts = deps.logger && typeof (deps.logger as { info?: unknown }).info === 'function'
    ? { loggerInstance: deps.logger as FastifyServerOptions['loggerInstance'] }
    : { logger: deps.logger ?? { level: config.LOG_LEVEL, redact: ['req.headers.authorization', 'headers.authorization', 'req.headers["x-api-key"]', 'headers["x-api-key"]', '*.token'] } }

  const trust = parseTrustProxy(config.TRUST_PROXY).fn
  const lazySchemas = new LazySchemas()
  const options: FastifyServerOptions = {
    ...loggerOpts,
    trustProxy: trust,
    bodyLimit: config.BODY_LIMIT_KB * 1024,
    ...serverTimeouts(config),
    // Every id the schemas accept fits (session ids of 128 CJK characters, percent-encoded).
    routerOptions: { maxParamLength: MAX_PARAM_CHARS },
    frameworkErrors: frameworkError(config),
    clientErrorHandler,
    // The observability plugin writes the one line per request.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: requestId,
    // coercion: only for the text parts (query, path), see validation.ts
    ajv: { customOptions: { allErrors: false, useDefaults: true, removeAdditional: true } },
    // one serializer per distinct response schema, not per route × status; every schema
    // compiled on first use, not at ready() (cold start)
    schemaController: { compilersFactory: { buildSerializer: cachingSerializerFactory(undefined, lazySchemas), buildValidator: validatorFactory(lazySchemas) } }
  }
  const app = Fastify(options).withTypeProvider<TypeBoxTypeProvider>()
  app.decorate('lazySchemas', lazySchemas)
  // JSON (and multipart on /api/v1/upload) only: anything else is a 415, not a 400.
  app.removeContentTypeParser('text/plain')
  useJsonParser(app)

  const coze = deps.coze ?? createCozeClient({ baseURL: config.COZE_API_BASE, credentials: credentialPool(config, app.log), requestTimeoutMs: config.COZE_REQUEST_TIMEOUT_MS, transport: config.COZE_TRANSPORT, http2: config.COZE_HTTP2 })
  // Disabled credentials come back when users/me passes with them again.
  coze.credentials.watch((lease) => getMe(coze, { lease }))
  app.addHook('onClose', async () => { coze.credentials.stop() })
  app.decorate('config', config)
  app.decorate('coze', coze)
  app.decorate('sseStreams', new Set<SseStream>())
  app.decorate('upstream', new UpstreamHealth(coze, config.HEALTH_CHECK_INTERVAL_MS))
  for (const w of config.warnings) app.log.warn(w)
  await app.register(requestContext)
  await app.register(observability)
  await app.register(accessControl)
  await app.register(chat)
  app.decorate('readiness', new Readiness(app.sessions.store, app.upstream, () => coze.credentials.snapshot()))
  app.addHook('onReady', async () => { app.readiness.lifecycle = 'running' })

  // Shutdown: open streams get a final error frame and `end`; connections with no
  // request in flight are closed at once (Node only closes idle *used* ones), and the
  // others close after their response, so close() waits only for real work.
  const sockets = new Set<Socket>()
  let closing = false
  app.server.on('connection', (sock: Socket) => {
    sockets.add(sock)
    sock.once('close', () => sockets.delete(sock))
  })
  app.addHook('preClose', async () => {
    closing = true
    app.readiness.lifecycle = 'stopping'
    for (const s of app.sseStreams) s.shutdown()
    for (const sock of sockets) if (!(sock as Socket & { _httpMessage?: unknown })._httpMessage) sock.destroy()
  })
  app.addHook('onResponse', (request, _reply, done) => {
    if (closing) request.raw.socket?.end()
    done()
  })
  app.addHook('onClose', async () => { if (!deps.coze) coze.close() })

  await app.register(requestLimits, { trust })
  await app.register(cors, { origins: config.CORS_ORIGINS })
  if (config.ENABLE_RATE_LIMIT) {
    // Probes, the status page and the docs stay outside the limiter (see public-routes.ts).
    app.addHook('onRoute', (route) => { if (isPublicRoute(route.url)) route.config = { ...route.config, rateLimit: false } })
    await app.register(rateLimit, {
      max: config.RATE_LIMIT_REQUESTS,
      timeWindow: config.RATE_LIMIT_WINDOW * 1000,
      // REDIS_URL: one count shared by every instance (exact across them); Redis down: not limited, logged.
      ...rateLimitStore(app, 'ip'),
      skipOnError: true,
      errorResponseBuilder: (_req, ctx) => errors.rateLimited(`Rate limit exceeded: ${ctx.max} requests per ${config.RATE_LIMIT_WINDOW} s. Retry in ${ctx.after}.`)
    })
  }
  // files: 1 → a second file part is the multipart plugin's FST_FILES_LIMIT: "one file per upload".
  await app.register(multipart, {
    limits: { fileSize: config.MAX_UPLOAD_MB * 1024 * 1024, files: 1, fields: 10, parts: 20, fieldSize: FORM_FIELD_MAX_BYTES }
  })
  await app.register(errorHandler, { limits: config })
  await app.register(securityHeaders)
  await app.register(swagger, { version: config.version })

  await registerRoutes(app)
  return app
}

function credentialPool (config: Config, log: FastifyBaseLogger): CredentialPool {
  return new CredentialPool(credentialsOf(config), {
    baseURL: config.COZE_API_BASE,
    strategy: config.COZE_CREDENTIAL_STRATEGY,
    tokenTtlSeconds: config.COZE_OAUTH_TOKEN_TTL,
    sessionIsolation: config.COZE_OAUTH_SESSION_ISOLATION,
    sessionCacheSize: config.COZE_OAUTH_SESSION_CACHE_SIZE,
    cooldownMs: config.COZE_CREDENTIAL_COOLDOWN_MS,
    cooldownMaxMs: config.COZE_CREDENTIAL_COOLDOWN_MAX_MS,
    recheckMs: config.COZE_CREDENTIAL_RECHECK_MS,
    requestTimeoutMs: config.COZE_REQUEST_TIMEOUT_MS,
    log
  })
}
