// The gate in front of every API route: refuses an Origin outside CORS_ORIGINS, and,
// when gateway keys are configured, finds the request's key (Authorization: Bearer, or
// x-api-key), checks it (expired, disabled, publishable key's origins, the route's
// scope) and its per-minute rate. The key found is `request.principal`; what it may do
// further (bots, workflows, budget, streams, ownership) is asked of `app.access`.
// Runs at preParsing: after the per-IP limiter (onRequest), before any body is read.
import { isIP } from 'node:net'
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import { errors } from '../errors.js'
import { MemoryCounters, RedisCounters, type LimitCounters } from './counters.js'
import { normalizeOrigin, type ApiKey } from './keys.js'
import { AccessPolicy } from './policy.js'
import { routeAccess } from './scopes.js'

declare module 'fastify' {
  interface FastifyInstance {
    access: AccessPolicy
    /** The Redis of the rate limits and key counters (REDIS_URL), null without one. */
    limitRedis: Redis | null
  }
  interface FastifyRequest {
    /** The gateway key the request came with; undefined when the gateway has no keys (or on a public route). */
    principal: ApiKey | undefined
  }
}

/** The key a request presents: `Authorization: Bearer <key>`, else `x-api-key`. */
export function presentedKey (request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined
  if (bearer) return bearer
  const header = request.headers['x-api-key']
  return typeof header === 'string' && header.trim() ? header.trim() : undefined
}

/** @fastify/rate-limit's Redis store options for one limiter (nothing without REDIS_URL: memory). */
export function rateLimitStore (app: FastifyInstance, name: string): { redis?: Redis, nameSpace?: string } {
  return app.limitRedis ? { redis: app.limitRedis, nameSpace: `${app.config.REDIS_KEY_PREFIX}rl:${name}:` } : {}
}

async function connectRedis (app: FastifyInstance): Promise<Redis> {
  const { Redis } = await import('ioredis')
  const redis = new Redis(app.config.REDIS_URL, { maxRetriesPerRequest: 2, connectTimeout: 5000, enableAutoPipelining: true })
  let lastLogged = 0
  redis.on('error', (err: Error) => {
    if (Date.now() - lastLogged < 10_000) return
    lastLogged = Date.now()
    app.log.error({ err: err.message }, 'redis (rate limits) connection error')
  })
  return redis
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))

export default fp(async function accessControl (app: FastifyInstance) {
  const config = app.config
  const redis = config.REDIS_URL ? await connectRedis(app) : null
  const counters: LimitCounters = redis
    ? new RedisCounters(redis, config.REDIS_KEY_PREFIX, (err) => app.log.warn({ err }, 'redis stream-lease renewal failed'))
    : new MemoryCounters()
  const policy = new AccessPolicy(config, counters)
  app.decorate('access', policy)
  app.decorate('limitRedis', redis)
  app.decorateRequest('principal', undefined)
  app.addHook('onClose', async () => {
    await policy.close()
    redis?.disconnect()
  })

  const keys = policy.keys
  const corsOrigins = config.CORS_ORIGINS.trim() === '*'
    ? undefined
    : new Set(config.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean).map((s) => normalizeOrigin(s) ?? s.toLowerCase()))

  // Per-key rpm (per key and client IP for publishable keys): a limiter of its own, on the
  // same store as the per-IP one, whatever ENABLE_RATE_LIMIT says.
  let keyLimit: ReturnType<FastifyInstance['createRateLimit']> | undefined
  if (keys.keys.some((k) => k.rpm)) {
    await app.register(async (scope) => {
      await scope.register(rateLimit, {
        global: false,
        timeWindow: 60_000,
        max: (request) => request.principal?.rpm ?? Number.MAX_SAFE_INTEGER,
        keyGenerator: (request) => request.principal?.origins ? `${request.principal.id}|${request.ip}` : request.principal?.id ?? '',
        ...rateLimitStore(app, 'key')
      })
      keyLimit = scope.createRateLimit()
    })
  }

  // Callback style: a request without a per-key rate costs no promise here.
  app.addHook('preParsing', (request, reply, payload, done) => {
    const key = admit(request)
    if (!key?.rpm || !keyLimit) return done(null, payload)
    keyLimit(request).then((r) => {
      if (!r.isAllowed) {
        void reply.header('x-ratelimit-limit', r.max).header('x-ratelimit-remaining', r.remaining).header('x-ratelimit-reset', r.ttlInSeconds)
        if (r.isExceeded) return done(errors.keyRateLimited(key.rpm!, r.ttl / 1000, key.origins !== undefined))
      }
      done(null, payload)
    }, (err: unknown) => done(errors.limitStoreUnavailable(err)))
  })

  /** The checks of a request's origin and key (throws the refusal); the key found, if any. */
  const admit = (request: FastifyRequest): ApiKey | undefined => {
    const pattern = request.routeOptions.url
    if (request.method === 'OPTIONS' || pattern === undefined) return undefined
    const access = routeAccess(pattern, request.routeOptions.config.access)
    if (access === 'public') return undefined

    const origin = request.headers.origin
    const normalized = origin === undefined ? undefined : normalizeOrigin(origin) ?? origin.toLowerCase()
    if (normalized !== undefined && corsOrigins && !corsOrigins.has(normalized) && normalized !== `${request.protocol}://${request.host}`.toLowerCase()) {
      throw errors.originNotAllowed(origin!)
    }
    if (!keys.enabled) return undefined

    const raw = presentedKey(request)
    if (!raw) throw errors.keyMissing()
    const key = keys.find(raw)
    if (!key) throw errors.keyUnknown()
    request.log = request.log.child({ key: key.id })
    if (key.disabled) throw errors.keyDisabled(key.name)
    if (key.expiresAt !== undefined && key.expiresAt <= Date.now()) throw errors.keyExpired(key.name, key.expiresAt)
    if (key.origins && !(normalized && key.origins.has(normalized))) throw errors.keyOriginNotAllowed(key.name, origin)
    request.principal = key
    if (!key.scopes.has(access)) throw errors.scopeMissing(key.name, access, `${request.method} ${pattern}`)
    return key
  }

  if (config.access.allowedBots && config.COZE_BOT_ID && !config.access.allowedBots.has(config.COZE_BOT_ID)) {
    app.log.warn({ default_bot_id: config.COZE_BOT_ID }, 'COZE_BOT_ID is not in ALLOWED_BOT_IDS: requests that rely on the default bot get 403')
  }
  app.addHook('onListen', async () => {
    const address = app.server.address()
    const host = typeof address === 'object' && address ? address.address : config.HOST
    if (!keys.enabled && !corsOrigins && !isLoopback(host)) {
      app.log.warn({ host, keys: 0, cors_origins: '*' }, 'anyone who can reach this port can spend your Coze token: no gateway API keys (GATEWAY_KEYS_FILE, GATEWAY_API_KEYS) and CORS_ORIGINS=*')
    }
  })
}, { name: 'access-control', dependencies: ['request-context'] })
