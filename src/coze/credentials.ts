// The Coze credentials behind every call: a pool of personal access tokens or OAuth JWT
// apps, the one place that hands out a token for a call (the SDK client and any other
// transport alike ask a Lease for it), and what each call's outcome does to its credential:
// - rate limits and quota errors (4013, HTTP 429, 4019, 6003) put it in cooldown: Coze's
//   Retry-After when it sends one, else an exponential backoff with a cap;
// - auth failures (4100, 4101, HTTP 401/403) disable it (an OAuth token is first minted
//   anew, once: Coze may end a token before its announced expiry), and a background check
//   (users/me with that credential) brings it back;
// - any other answer proves it works.
// States only order the choice: a call never waits for, or is refused because of, the
// state of the last usable credential; it is sent, and its answer speaks.
import type { FastifyBaseLogger } from 'fastify'
import { loadedSdk } from './sdk.js'
import type { GatewayError } from '../errors.js'
import type { CredentialSpec } from '../credentials-config.js'
import { OAuthTokens, type TokenSource } from './oauth-tokens.js'
import { regionHint } from './region.js'

export type CredentialState = 'active' | 'cooldown' | 'disabled'
export type PoolStrategy = 'round-robin' | 'least-recently-limited'

export interface PoolOptions {
  /** COZE_API_BASE */
  baseURL: string
  strategy?: PoolStrategy
  /** duration_seconds of minted OAuth tokens */
  tokenTtlSeconds?: number
  /** OAuth: one token per end user, minted with session_name */
  sessionIsolation?: boolean
  /** how many per-user tokens are kept */
  sessionCacheSize?: number
  cooldownMs?: number
  cooldownMaxMs?: number
  /** how often disabled credentials are checked again */
  recheckMs?: number
  /** timeout of a token mint */
  requestTimeoutMs?: number
  log?: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'> | undefined
}

/** Which credential (and for whom) a call goes out on. */
export interface Route {
  /** the end user (OAuth session isolation: their own token) */
  user?: string | undefined
  /** this credential, by index (a conversation stays on the credential that created it) */
  credential?: number | undefined
  /** never move to another credential (conversation calls); default: when `credential` is given */
  pinned?: boolean | undefined
}

/** What a failed call may do next. */
export type Verdict = 'refresh' | 'failover' | undefined

/** One pool member, as /api/v1/config and /metrics show it. Never the secret. */
export interface CredentialSnapshot {
  index: number
  kind: 'pat' | 'oauth'
  app_id: string | null
  state: CredentialState
  /** ms epoch, while in cooldown */
  cooldown_until: number | null
  /** why it was disabled (a Coze code or an OAuth error), while disabled */
  disabled_reason: string | null
}

const LIMIT_CODES = new Set([4013, 4019, 6003])

export class Credential {
  cooldownUntil = 0
  lastLimitedAt = 0
  strikes = 0
  disabledReason: string | undefined
  /** when it was last limited or disabled (ms epoch) */
  changedAt = 0

  constructor (readonly index: number, readonly spec: CredentialSpec, readonly tokens: TokenSource) {}

  get kind (): 'pat' | 'oauth' { return this.spec.kind }
  get appId (): string | undefined { return this.spec.kind === 'oauth' ? this.spec.appId : undefined }
  /** How a log line or a message names it: by index and where it was configured, never by value. */
  get label (): string { return `credential #${this.index} (${this.spec.source})` }

  state (now = Date.now()): CredentialState {
    if (this.disabledReason !== undefined) return 'disabled'
    return now < this.cooldownUntil ? 'cooldown' : 'active'
  }
}

/** A credential chosen for one call (and its retries). */
export class Lease {
  verdict: Verdict
  /** when the call asked for its token (ms epoch) */
  startedAt = 0
  /** the token the call went out with */
  private used: string | undefined

  constructor (
    readonly credential: Credential,
    readonly sessionName: string | undefined,
    readonly route: Route,
    /** credentials this call already tried */
    readonly tried: ReadonlySet<number>,
    readonly refreshed: boolean,
    private readonly pool: CredentialPool
  ) {}

  /** The token to send. Throws 503 UPSTREAM_AUTH_UNAVAILABLE when none can be had. */
  async token (): Promise<string> {
    this.startedAt = Date.now()
    this.used = await this.credential.tokens.get(this.sessionName)
    return this.used
  }

  /** The outcome of the call: updates the credential, and says whether a retry may help. */
  report (err?: GatewayError): Verdict {
    this.verdict = this.pool.outcome(this, err, this.used)
    return this.verdict
  }
}

export class CredentialPool {
  readonly credentials: readonly Credential[]
  readonly sessionIsolation: boolean
  private cursor = 0
  private timer: NodeJS.Timeout | undefined
  private readonly o: Required<Omit<PoolOptions, 'log'>> & Pick<PoolOptions, 'log'>

  constructor (specs: readonly CredentialSpec[], opts: PoolOptions) {
    this.o = {
      strategy: 'round-robin',
      tokenTtlSeconds: 900,
      sessionIsolation: false,
      sessionCacheSize: 10_000,
      cooldownMs: 1000,
      cooldownMaxMs: 300_000,
      recheckMs: 30_000,
      requestTimeoutMs: 30_000,
      ...opts
    }
    const list = specs.length > 0 ? specs : [{ kind: 'pat' as const, token: '', source: 'COZE_API_TOKEN' }]
    const shared = OAuthTokens.cache(this.o.sessionCacheSize)
    this.credentials = list.map((spec, i) => new Credential(i, spec, spec.kind === 'pat'
      ? { get: async () => spec.token, peek: () => spec.token, invalidate: () => {} }
      : new OAuthTokens(i, spec, {
        baseURL: this.o.baseURL,
        ttlSeconds: this.o.tokenTtlSeconds,
        timeoutMs: this.o.requestTimeoutMs,
        cache: shared,
        onMintFailure: (err) => this.mintFailed(this.credentials[i]!, err)
      })))
    this.sessionIsolation = this.o.sessionIsolation && this.credentials[0]!.kind === 'oauth'
  }

  get size (): number { return this.credentials.length }
  /** pat (personal access tokens) or oauth (OAuth JWT apps): a pool is one or the other */
  get mode (): 'pat' | 'oauth' { return this.credentials[0]!.kind }

  /** A credential for a call: the pinned one, else the pool's choice. */
  lease (route: Route = {}): Lease {
    const pinned = route.credential !== undefined ? this.credentials[route.credential] : undefined
    const c = pinned ?? this.pick(new Set())!
    return this.leaseOn(c, { ...route, pinned: route.pinned ?? pinned !== undefined }, new Set([c.index]), false)
  }

  /**
   * The lease a failed call may be retried on, or undefined: the same credential with a
   * fresh OAuth token (once per credential), or another credential (once, never for a
   * pinned call).
   */
  retry (lease: Lease): Lease | undefined {
    if (lease.verdict === 'refresh' && !lease.refreshed) return this.leaseOn(lease.credential, lease.route, lease.tried, true)
    if (lease.verdict !== 'failover' || lease.route.pinned || lease.tried.size > 1) return undefined
    const next = this.pick(lease.tried)
    if (!next) return undefined
    return this.leaseOn(next, lease.route, new Set([...lease.tried, next.index]), false)
  }

  /** The token for calls made without a lease (tests and benchmarks using the SDK client directly). */
  fallbackToken (): string {
    return this.pick(new Set(), false)!.tokens.peek() ?? ''
  }

  /** Adds what Coze said about the region and names the credential, on an auth error. */
  explain (lease: Lease, err: GatewayError): GatewayError {
    if (err.code !== 'UPSTREAM_AUTH') return err
    const c = lease.credential
    const who = c.kind === 'oauth' ? `the token of OAuth app ${c.appId} (credential #${c.index})` : this.size > 1 ? c.label : `the gateway's API token ${c.spec.source}`
    const why = err.cozeCode === 4101 ? 'Coze code 4101 (wrong token or no permission)' : err.cozeCode ? `Coze code ${err.cozeCode}` : 'HTTP 401/403'
    return err.withMessage(`Coze rejected ${who}, ${why}. ${regionHint(this.o.baseURL, { kind: c.kind, source: c.spec.source, apiBase: c.spec.kind === 'oauth' ? c.spec.apiBase : undefined })}`)
  }

  snapshot (): CredentialSnapshot[] {
    const now = Date.now()
    return this.credentials.map((c) => {
      const state = c.state(now)
      return {
        index: c.index,
        kind: c.kind,
        app_id: c.appId ?? null,
        state,
        cooldown_until: state === 'cooldown' ? c.cooldownUntil : null,
        disabled_reason: state === 'disabled' ? c.disabledReason ?? null : null
      }
    })
  }

  /**
   * Checks disabled credentials every recheckMs with `check` (users/me on that credential);
   * one that passes is active again.
   */
  watch (check: (lease: Lease) => Promise<unknown>): void {
    this.stop()
    const checking = new Set<number>()
    this.timer = setInterval(() => {
      for (const c of this.credentials) {
        if (c.state() !== 'disabled' || checking.has(c.index)) continue
        checking.add(c.index)
        c.tokens.invalidate(undefined)
        const lease = this.leaseOn(c, { credential: c.index, pinned: true }, new Set([c.index]), true)
        check(lease).then(() => {
          // `report` of a successful call already enabled it.
          if (c.state() !== 'disabled') this.o.log?.info({ credential: c.index }, `Coze ${c.label} works again: back in the pool`)
        }, () => {}).finally(() => checking.delete(c.index))
      }
    }, this.o.recheckMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** @internal Lease.report */
  outcome (lease: Lease, err: GatewayError | undefined, usedToken: string | undefined): Verdict {
    const c = lease.credential
    if (err?.code === 'UPSTREAM_AUTH_UNAVAILABLE') return 'failover'
    const kind = err && failureKind(err)
    if (kind === 'limited') {
      this.limited(c, retryAfterOf(err!), err!)
      return 'failover'
    }
    if (kind === 'refused') {
      if (c.kind === 'oauth' && !lease.refreshed) {
        // Coze may end a token before its expiry: mint a new one and try once more.
        c.tokens.invalidate(lease.sessionName, usedToken)
        return 'refresh'
      }
      this.disable(c, err!.cozeCode ? `Coze code ${err!.cozeCode}` : 'HTTP 401/403', err!.logid)
      return 'failover'
    }
    // Any other answer (success, or an error about the request itself) proves the credential
    // works, unless the call began before its last limit or refusal (an older, slower call).
    if ((err === undefined || err.cozeCode !== undefined || err.statusCode < 500) && lease.startedAt >= c.changedAt) this.works(c)
    return undefined
  }

  private leaseOn (c: Credential, route: Route, tried: ReadonlySet<number>, refreshed: boolean): Lease {
    const sessionName = this.sessionIsolation && route.user ? sessionNameOf(route.user) : undefined
    return new Lease(c, sessionName, route, tried, refreshed, this)
  }

  /** Active credentials first (round-robin or least recently limited), then the cooldown ending soonest, then disabled ones. */
  private pick (avoid: ReadonlySet<number>, advance = true): Credential | undefined {
    const n = this.credentials.length
    // one credential (the common setup): no choice to make, whatever its state
    if (n === 1) return avoid.has(0) ? undefined : this.credentials[0]
    const now = Date.now()
    const start = (advance ? this.cursor++ : this.cursor) % n
    const order = Array.from({ length: n }, (_, i) => this.credentials[(start + i) % n]!).filter((c) => !avoid.has(c.index))
    const active = order.filter((c) => c.state(now) === 'active')
    if (active.length > 0) {
      return this.o.strategy === 'least-recently-limited'
        ? active.reduce((a, b) => (b.lastLimitedAt < a.lastLimitedAt ? b : a))
        : active[0]
    }
    const cooling = order.filter((c) => c.state(now) === 'cooldown')
    if (cooling.length > 0) return cooling.reduce((a, b) => (b.cooldownUntil < a.cooldownUntil ? b : a))
    return order[0]
  }

  private limited (c: Credential, retryAfterMs: number | undefined, err: GatewayError): void {
    const now = Date.now()
    c.strikes++
    c.lastLimitedAt = now
    c.changedAt = now
    const ms = Math.min(this.o.cooldownMaxMs, retryAfterMs ?? this.o.cooldownMs * 2 ** Math.min(c.strikes - 1, 30))
    c.cooldownUntil = Math.max(c.cooldownUntil, now + ms)
    this.o.log?.warn({ credential: c.index, coze_code: err.cozeCode, logid: err.logid, cooldown_ms: ms },
      `Coze ${c.label} is rate-limited or out of quota: cooldown for ${ms} ms${retryAfterMs !== undefined ? ' (Retry-After)' : ''}`)
  }

  private disable (c: Credential, reason: string, logid?: string): void {
    if (c.disabledReason !== undefined) return
    c.disabledReason = reason
    c.changedAt = Date.now()
    this.o.log?.error({ credential: c.index, reason, logid },
      `Coze rejected ${c.label} (${reason}): disabled; it is checked again every ${this.o.recheckMs} ms and comes back when the check passes`)
  }

  private works (c: Credential): void {
    c.strikes = 0
    c.cooldownUntil = 0
    c.disabledReason = undefined
  }

  /** An OAuth mint that failed: a refused app is disabled, a limited one cools down, anything else changes nothing. */
  private mintFailed (c: Credential, err: GatewayError): void {
    const kind = failureKind(err)
    if (kind === 'refused') this.disable(c, 'OAuth token mint refused', err.logid)
    else if (kind === 'limited') this.limited(c, retryAfterOf(err), err)
  }
}

/**
 * The session_name of an end user's tokens: their user_id, or, once gateway API keys exist,
 * the key's id and the user_id (so two keys' users of the same name stay apart).
 */
export function sessionNameOf (userId: string, keyId?: string): string {
  return keyId ? `${keyId}:${userId}` : userId
}

/** Coze's Retry-After (seconds or an HTTP date) of the failed response, in ms. */
export function retryAfterOf (err: GatewayError): number | undefined {
  let e: unknown = err
  for (let depth = 0; e && depth < 4; depth++) {
    const headers = (e as { headers?: Record<string, unknown> }).headers
    const v = headers && (headers['retry-after'] ?? headers['Retry-After'])
    if (v !== undefined && v !== null && String(v).trim() !== '') {
      const s = String(v).trim()
      if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000)
      const at = Date.parse(s)
      if (!Number.isNaN(at)) return Math.max(0, at - Date.now())
    }
    e = (e as { cause?: unknown }).cause
  }
  return undefined
}

/** What a failure says about the credential: rate-limited or out of quota, refused, or nothing. */
export function failureKind (err: GatewayError): 'limited' | 'refused' | undefined {
  if (err.code === 'UPSTREAM_RATE_LIMITED' || LIMIT_CODES.has(err.cozeCode ?? 0)) return 'limited'
  if (err.code === 'UPSTREAM_AUTH') return 'refused'
  // What the SDK could tell from the HTTP status (e.g. a 429 whose body code is the status).
  const cause = err.cause
  const sdk = loadedSdk()
  if (sdk && cause instanceof sdk.RateLimitError) return 'limited'
  if (sdk && (cause instanceof sdk.AuthenticationError || cause instanceof sdk.PermissionDeniedError)) return 'refused'
  return undefined
}
