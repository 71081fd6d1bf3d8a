import type { Ctx, Runtime } from './runtime.js'
import { CozeFault } from './errors.js'

/** Who is calling: a static token (the account) or a minted OAuth token (an app, maybe one session of it). */
export interface Principal {
  /** the bearer token as sent */
  token: string
  /**
   * Whose conversations this token sees: '' for static tokens (the account), `app:<id>` for an
   * app token without session_name, `app:<id>/session:<name>` with one.
   */
  scope: string
  /** a bot-restricted OAuth token: the only bots it may chat with */
  botIds: ReadonlySet<string> | undefined
}

export const ANONYMOUS: Principal = { token: '', scope: '', botIds: undefined }

export function bearerOf (authorization: string | undefined): string | undefined {
  if (!authorization || !authorization.startsWith('Bearer ')) return undefined
  return authorization.slice(7).trim()
}

/** The principal behind a bearer token, or the 4100 fault for a missing, unknown, revoked or expired one. */
export function authenticate (rt: Runtime, token: string | undefined): Principal | CozeFault {
  if (token === undefined || token === '') return new CozeFault(4100)
  if (rt.tokens.has(token)) return { token, scope: '', botIds: undefined }
  const grant = rt.oauth.grants.get(token)
  if (!grant || grant.revoked || Date.now() >= grant.expiresAtMs) return new CozeFault(4100)
  return { token, scope: grant.scope, botIds: grant.botIds }
}

/** Conversations and chats belong to the scope that created them; other scopes get "not found". */
export function sees (p: Principal, owner: string): boolean {
  return p.scope === owner
}

/** A bot-restricted token may only chat with the bots in its scope: 4101 otherwise. */
export function assertBotAllowed (ctx: Ctx, botId: string): void {
  const allowed = ctx.principal.botIds
  if (allowed && !allowed.has(botId)) throw new CozeFault(4101, `The access token has no permission to chat with bot ${botId}.`)
}
