// Access tokens of one OAuth JWT app, minted with the SDK's getJWTToken (an RS256 JWT with a
// fresh jti, traded at POST {base}/api/permission/oauth2/token) and cached:
// - the next token is minted a margin before `expires_in` (an absolute unix time), while
//   calls go on with the current one;
// - one mint in flight per token, however many calls wait on it;
// - when a mint fails, a token still valid is used until it expires; with none left, the
//   call gets 503 UPSTREAM_AUTH_UNAVAILABLE (and a new mint is tried at most once a second);
// - with session isolation, one token per end user (session_name), in an LRU of bounded size.
import type { JWTScope } from '@coze/api'
import { loadSdk } from './sdk.js'
import { LRUCache } from 'lru-cache'
import { errors, type GatewayError } from '../errors.js'
import type { OAuthAppSpec } from '../credentials-config.js'
import { toGatewayError } from './errors.js'

/** Where a credential's tokens come from; a PAT is its own token. */
export interface TokenSource {
  /** The token for `sessionName` (undefined: the app itself). */
  get (sessionName?: string): Promise<string>
  /** A cached token, if any, without minting. */
  peek (): string | undefined
  /** Forget a token Coze refused (only if it is still `token`, so a newer one is kept). */
  invalidate (sessionName: string | undefined, token?: string): void
}

interface Entry {
  token?: string
  expiresAtMs: number
  refreshAtMs: number
  pending?: Promise<string> | undefined
  failedAtMs: number
  failure?: GatewayError | undefined
}

export interface OAuthTokensOptions {
  baseURL: string
  ttlSeconds: number
  timeoutMs: number
  /** per-user tokens of every app of the pool */
  cache: LRUCache<string, Entry>
  onMintFailure: (err: GatewayError) => void
}

/** A failed mint is not retried sooner than this (the calls in between get 503 at once). */
const MINT_RETRY_MS = 1000

export interface MintOptions { sessionName?: string | undefined, durationSeconds: number, scope?: JWTScope | undefined }

export class OAuthTokens implements TokenSource {
  private readonly app: Entry = { expiresAtMs: 0, refreshAtMs: 0, failedAtMs: 0 }
  private readonly aud: string

  static cache (size: number): LRUCache<string, Entry> {
    return new LRUCache<string, Entry>({ max: size })
  }

  constructor (private readonly index: number, private readonly spec: OAuthAppSpec, private readonly o: OAuthTokensOptions) {
    // The JWT's audience is the API host of the app's region (coze_api_base), else of COZE_API_BASE.
    this.aud = new URL(spec.apiBase ?? o.baseURL).host
  }

  get (sessionName?: string): Promise<string> {
    const entry = this.entry(sessionName)
    const now = Date.now()
    if (entry.token && now < entry.refreshAtMs) return Promise.resolve(entry.token)
    if (entry.token && now < entry.expiresAtMs) {
      // In the margin: the next token is minted in the background, this one is still good.
      if (!entry.pending && now - entry.failedAtMs >= MINT_RETRY_MS) this.refresh(entry, sessionName).catch(() => {})
      return Promise.resolve(entry.token)
    }
    if (entry.pending) return entry.pending
    if (entry.failure && now - entry.failedAtMs < MINT_RETRY_MS) return Promise.reject(entry.failure)
    return this.refresh(entry, sessionName)
  }

  peek (): string | undefined {
    return this.app.token && Date.now() < this.app.expiresAtMs ? this.app.token : undefined
  }

  invalidate (sessionName: string | undefined, token?: string): void {
    const entry = sessionName === undefined ? this.app : this.o.cache.get(this.key(sessionName))
    if (!entry || (token !== undefined && entry.token !== token)) return
    entry.token = undefined
    entry.expiresAtMs = 0
    entry.refreshAtMs = 0
    entry.failedAtMs = 0
    entry.failure = undefined
  }

  /** A token that is not cached: e.g. a vended one, restricted to some bots. Throws 503 UPSTREAM_AUTH_UNAVAILABLE. */
  async mint (m: MintOptions): Promise<{ access_token: string, expires_at_ms: number }> {
    let res: { access_token: string, expires_in: number }
    try {
      res = await (await loadSdk()).getJWTToken({
        baseURL: this.o.baseURL,
        appId: this.spec.appId,
        aud: this.aud,
        keyid: this.spec.keyId,
        privateKey: this.spec.privateKey,
        durationSeconds: m.durationSeconds,
        ...(m.sessionName !== undefined ? { sessionName: m.sessionName } : {}),
        ...(m.scope ? { scope: m.scope } : {})
      }, { timeout: this.o.timeoutMs })
    } catch (err) {
      const e = toGatewayError(err)
      // A parameter Coze refused (e.g. a vended token's scope) is the request's fault, not the app's.
      if (e.code === 'UPSTREAM_BAD_REQUEST') throw e.withMessage(`Coze refused the token request of OAuth app ${this.spec.appId}: ${mintReason(err, e)}.`)
      this.o.onMintFailure(e)
      throw errors.upstreamAuthUnavailable(
        `The gateway could not get a Coze access token for OAuth app ${this.spec.appId} (credential #${this.index}): ${mintReason(err, e)}. ` +
        'Calls resume as soon as a token can be minted; check the app\'s key pair and COZE_API_BASE.', { logid: e.logid, cause: e })
    }
    if (typeof res?.access_token !== 'string' || !res.access_token) {
      throw errors.upstreamAuthUnavailable(`Coze answered the token request of OAuth app ${this.spec.appId} without an access_token.`)
    }
    return { access_token: res.access_token, expires_at_ms: expiryOf(res.expires_in, m.durationSeconds) }
  }

  private refresh (entry: Entry, sessionName: string | undefined): Promise<string> {
    entry.pending ??= this.mint({ sessionName, durationSeconds: this.o.ttlSeconds }).then((t) => {
      entry.token = t.access_token
      entry.expiresAtMs = t.expires_at_ms
      entry.refreshAtMs = t.expires_at_ms - marginMs(this.o.ttlSeconds)
      entry.failure = undefined
      return t.access_token
    }, (err: GatewayError) => {
      entry.failedAtMs = Date.now()
      entry.failure = err
      // A token still valid is used until it expires.
      if (entry.token && Date.now() < entry.expiresAtMs) return entry.token
      throw err
    }).finally(() => { entry.pending = undefined })
    return entry.pending
  }

  private entry (sessionName: string | undefined): Entry {
    if (sessionName === undefined) return this.app
    const key = this.key(sessionName)
    let e = this.o.cache.get(key)
    if (!e) {
      e = { expiresAtMs: 0, refreshAtMs: 0, failedAtMs: 0 }
      this.o.cache.set(key, e)
    }
    return e
  }

  private key (sessionName: string): string { return `${this.index}\n${sessionName}` }
}

/** How long before expiry the next token is minted: a fifth of the lifetime, at most a minute. */
export function marginMs (ttlSeconds: number): number {
  return Math.min(60_000, Math.floor(ttlSeconds * 1000 / 5))
}

/**
 * `expires_in` is an absolute unix time. A value that reads as a duration, or one further
 * away than asked (clocks apart), is bounded by the lifetime asked for.
 */
function expiryOf (expiresIn: unknown, durationSeconds: number): number {
  const now = Date.now()
  const asked = now + durationSeconds * 1000
  const n = Number(expiresIn)
  if (!Number.isFinite(n) || n <= 0) return asked
  const at = n > 1e9 ? n * 1000 : now + n * 1000
  return at > now ? Math.min(at, asked) : asked
}

/** Coze's OAuth error (error_code, error_message) or what went wrong on the way. Never the JWT or the key. */
function mintReason (raw: unknown, e: GatewayError): string {
  const body = (raw as { rawError?: { error_code?: unknown, error_message?: unknown } })?.rawError
  if (body && typeof body.error_code === 'string') {
    return `${body.error_code}${typeof body.error_message === 'string' ? ` (${body.error_message.slice(0, 200)})` : ''}`
  }
  return e.message
}
