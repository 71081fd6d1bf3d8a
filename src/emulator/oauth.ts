import type { KeyObject } from 'node:crypto'
import { createPublicKey, randomBytes, verify } from 'node:crypto'
import type { Ctx, RouteDef } from './runtime.js'
import { bearerOf } from './auth.js'
import { BoundedMap } from './state.js'
import { nowSec } from './ids.js'
import { sendJson, sendOAuthError } from './respond.js'

/** An OAuth "service app" (JWT flow): the emulator checks JWTs against its public key. */
export interface OAuthApp {
  appId: string
  /** the public key fingerprint the JWT header names as `kid` */
  keyId: string
  /** PEM (SPKI or PKCS#1); a private key PEM works too (its public half is used) */
  publicKey: string
}

/** A minted access token, as tests see it. */
export interface MintedToken {
  access_token: string
  app_id: string
  session_name: string | undefined
  /** absolute unix seconds, as answered */
  expires_in: number
  /** when the emulator stops accepting it (ms epoch); earlier than expires_in under oauthTokenTtlSeconds */
  expires_at_ms: number
  /** bot-restricted tokens: the bots it may chat with */
  bot_ids: string[] | undefined
  revoked: boolean
}

export interface OAuthController {
  /** how many access tokens the token endpoint has minted */
  readonly minted: number
  /** every jti accepted so far, oldest first */
  readonly jtis: string[]
  /** every token minted so far, oldest first */
  readonly issued: MintedToken[]
  addApp(app: OAuthApp): void
  /** makes a minted token unusable (4100 from then on); false if unknown */
  revoke(accessToken: string): boolean
}

export interface Grant {
  accessToken: string
  appId: string
  sessionName: string | undefined
  scope: string
  botIds: ReadonlySet<string> | undefined
  expiresIn: number
  expiresAtMs: number
  revoked: boolean
}

export const JWT_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
export const DEFAULT_DURATION_SECONDS = 900
export const MAX_DURATION_SECONDS = 86399
/** how far in the future `iat` may be (clock skew between the signer and us) */
export const IAT_SKEW_SECONDS = 30
/** `aud` values always accepted, besides the emulator's own host */
export const ACCEPTED_AUDIENCES = ['api.coze.cn', 'api.coze.com']

interface AppKey { app: OAuthApp; key: KeyObject }

export class OAuthState implements OAuthController {
  readonly grants = new BoundedMap<string, Grant>(100_000)
  private readonly seenJtis = new BoundedMap<string, true>(100_000)
  private readonly byKeyId = new Map<string, AppKey[]>()
  private count = 0
  /** the emulator's own host forms (`127.0.0.1:1234`, `http://127.0.0.1:1234`), set once it listens */
  ownAudiences: string[] = []

  constructor (apps: OAuthApp[], private readonly ttlCap: () => number | undefined) {
    for (const a of apps) this.addApp(a)
  }

  get minted (): number {
    return this.count
  }

  get jtis (): string[] {
    return [...this.seenJtis.keys()]
  }

  get issued (): MintedToken[] {
    return [...this.grants.values()].map((g) => ({
      access_token: g.accessToken,
      app_id: g.appId,
      session_name: g.sessionName,
      expires_in: g.expiresIn,
      expires_at_ms: g.expiresAtMs,
      bot_ids: g.botIds ? [...g.botIds] : undefined,
      revoked: g.revoked
    }))
  }

  addApp (app: OAuthApp): void {
    const key = createPublicKey(app.publicKey)
    const list = this.byKeyId.get(app.keyId) ?? []
    list.push({ app, key })
    this.byKeyId.set(app.keyId, list)
  }

  revoke (accessToken: string): boolean {
    const g = this.grants.get(accessToken)
    if (!g) return false
    g.revoked = true
    return true
  }

  keysFor (kid: string): AppKey[] {
    return this.byKeyId.get(kid) ?? []
  }

  hasSeen (jti: string): boolean {
    return this.seenJtis.has(jti)
  }

  mint (appId: string, sessionName: string | undefined, botIds: ReadonlySet<string> | undefined, durationSeconds: number): Grant {
    const cap = this.ttlCap()
    const lives = cap !== undefined ? Math.min(cap, durationSeconds) : durationSeconds
    const grant: Grant = {
      accessToken: `czs_${randomBytes(32).toString('hex')}`,
      appId,
      sessionName,
      scope: sessionName !== undefined ? `app:${appId}/session:${sessionName}` : `app:${appId}`,
      botIds,
      expiresIn: nowSec() + durationSeconds,
      expiresAtMs: Date.now() + lives * 1000,
      revoked: false
    }
    this.grants.set(grant.accessToken, grant)
    this.count++
    return grant
  }

  consumeJti (jti: string): void {
    this.seenJtis.set(jti, true)
  }
}

// ---------------------------------------------------------------------------
// JWT checks

class OAuthError extends Error {
  constructor (readonly status: number, readonly errorCode: string, message: string) {
    super(message)
  }
}

const invalidClient = (why: string): OAuthError => new OAuthError(401, 'invalid_client', why)
const invalidRequest = (param: string): OAuthError => new OAuthError(400, 'invalid_request', `invalid request: ${param}`)

function jsonPart (part: string, what: string): Record<string, unknown> {
  let v: unknown
  try { v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) } catch { throw invalidClient(`the JWT ${what} is not base64url JSON`) }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalidClient(`the JWT ${what} is not a JSON object`)
  return v as Record<string, unknown>
}

/** RS256 (RSASSA-PKCS1-v1_5 with SHA-256); a key of another type simply does not verify. */
function verifies (data: Buffer, key: KeyObject, sig: Buffer): boolean {
  if (key.asymmetricKeyType !== 'rsa') return false
  try { return verify('sha256', data, key, sig) } catch { return false }
}

interface VerifiedJwt { app: OAuthApp; jti: string; sessionName: string | undefined }

/** Checks an RS256 JWT as Coze does: kid, signature, iss, aud, iat, exp, an unused jti. */
function verifyJwt (state: OAuthState, jwt: string, audiences: string[]): VerifiedJwt {
  const parts = jwt.split('.')
  if (parts.length !== 3) throw invalidClient('the bearer token is not a JWT')
  const [h, p, s] = parts as [string, string, string]
  const header = jsonPart(h, 'header')
  const payload = jsonPart(p, 'payload')
  if (header.alg !== 'RS256') throw invalidClient(`unsupported JWT alg ${String(header.alg)}: use RS256`)
  if (typeof header.kid !== 'string' || header.kid === '') throw invalidClient('the JWT header has no kid')
  const candidates = state.keysFor(header.kid)
  if (candidates.length === 0) throw invalidClient(`unknown public key id (kid) ${header.kid}`)
  const signed = Buffer.from(`${h}.${p}`)
  const sig = Buffer.from(s, 'base64url')
  const match = candidates.find((c) => verifies(signed, c.key, sig))
  if (!match) throw invalidClient('the JWT signature does not verify against the public key')
  if (payload.iss !== match.app.appId) throw invalidClient(`iss ${String(payload.iss)} is not the app id of key ${header.kid}`)
  if (typeof payload.aud !== 'string' || !audiences.includes(payload.aud)) throw invalidClient(`aud ${String(payload.aud)} is not accepted (use ${audiences.join(' or ')})`)
  const now = nowSec()
  if (typeof payload.exp !== 'number') throw invalidClient('the JWT has no exp')
  if (payload.exp <= now) throw invalidClient('the JWT has expired (exp)')
  if (typeof payload.iat !== 'number') throw invalidClient('the JWT has no iat')
  if (payload.iat > now + IAT_SKEW_SECONDS) throw invalidClient('the JWT is not valid yet (iat is in the future)')
  if (payload.exp <= payload.iat) throw invalidClient('exp must be later than iat')
  if (typeof payload.jti !== 'string' || payload.jti === '') throw invalidClient('the JWT has no jti')
  if (state.hasSeen(payload.jti)) throw invalidClient(`jti ${payload.jti} has already been used`)
  if (payload.session_name !== undefined && typeof payload.session_name !== 'string') throw invalidClient('session_name must be a string')
  return { app: match.app, jti: payload.jti, sessionName: payload.session_name as string | undefined }
}

/** bot_id_list of a `Connector.botChat` scope, or undefined for an unrestricted token */
function botIdsOf (scope: unknown): ReadonlySet<string> | undefined {
  if (scope === undefined || scope === null) return undefined
  if (typeof scope !== 'object') throw invalidRequest('scope')
  const list = (scope as { attribute_constraint?: { connector_bot_chat_attribute?: { bot_id_list?: unknown } } })
    .attribute_constraint?.connector_bot_chat_attribute?.bot_id_list
  if (list === undefined) return undefined
  if (!Array.isArray(list) || !list.every((b) => typeof b === 'string')) throw invalidRequest('scope.attribute_constraint.connector_bot_chat_attribute.bot_id_list')
  return new Set(list as string[])
}

function durationOf (v: unknown): number {
  if (v === undefined || v === null) return DEFAULT_DURATION_SECONDS
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_DURATION_SECONDS) throw invalidRequest('duration_seconds')
  return v
}

/** POST /api/permission/oauth2/token (and …/account/{id}/token): a JWT for an access token. */
function token (ctx: Ctx): void {
  const state = ctx.rt.oauth
  try {
    const jwt = bearerOf(ctx.req.headers.authorization)
    if (!jwt) throw invalidClient('Authorization: Bearer <JWT> is required')
    const audiences = [...ACCEPTED_AUDIENCES, ...state.ownAudiences]
    const host = ctx.rec.headers.host as string | undefined
    if (host) audiences.push(host)
    const verified = verifyJwt(state, jwt, audiences)
    const grantType = ctx.body.grant_type
    if (grantType !== JWT_GRANT_TYPE) throw new OAuthError(400, 'unsupported_grant_type', `not supported grant type: ${String(grantType)}`)
    const duration = durationOf(ctx.body.duration_seconds)
    const botIds = botIdsOf(ctx.body.scope)
    state.consumeJti(verified.jti)
    const grant = state.mint(verified.app.appId, verified.sessionName, botIds, duration)
    sendJson(ctx.res, ctx.logid, { access_token: grant.accessToken, expires_in: grant.expiresIn, token_type: 'Bearer' }, 200, ctx.fault)
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err
    sendOAuthError(ctx.res, ctx.logid, err.status, err.errorCode, err.message)
  }
}

export const oauthRoutes: RouteDef[] = [
  { method: 'POST', path: '/api/permission/oauth2/token', handler: token, ownAuth: true },
  { method: 'POST', path: /^\/api\/permission\/oauth2\/account\/([^/]+)\/token$/, handler: token, ownAuth: true }
]
