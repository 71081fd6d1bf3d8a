// Token vending: a short-lived Coze access token minted for a frontend that talks to Coze
// itself (the Coze Web SDK, audio over WebSocket), restricted to some bots
// (`Connector.botChat` with `bot_id_list`, the SDK's scope) and isolated to one end user
// (session_name). Only an OAuth JWT app can mint such tokens.
import type { JWTScope } from '@coze/api'
import { errors, GatewayError } from '../errors.js'
import { sessionNameOf, type CredentialPool } from './credentials.js'
import { OAuthTokens } from './oauth-tokens.js'

export const BOT_CHAT_PERMISSION = 'Connector.botChat'

export interface VendRequest {
  bot_ids: string[]
  user_id: string
  /** default and bound: maxTtlSeconds */
  ttl_seconds?: number | undefined
}

export interface VendedToken {
  access_token: string
  /** unix seconds */
  expires_at: number
  bot_ids: string[]
}

export function botChatScope (botIds: string[]): JWTScope {
  return {
    account_permission: { permission_list: [BOT_CHAT_PERMISSION] },
    attribute_constraint: { connector_bot_chat_attribute: { bot_id_list: botIds } }
  }
}

/** Mints the token on an OAuth app of the pool (another one, once, if that app cannot mint). */
export async function vendToken (pool: CredentialPool, req: VendRequest, opts: { maxTtlSeconds: number, keyId?: string | undefined }): Promise<VendedToken> {
  if (pool.mode !== 'oauth') throw errors.vendingUnavailable()
  const botIds = [...new Set(req.bot_ids)]
  const ttl = Math.min(req.ttl_seconds ?? opts.maxTtlSeconds, opts.maxTtlSeconds)
  let lease = pool.lease({})
  for (;;) {
    const tokens = lease.credential.tokens
    if (!(tokens instanceof OAuthTokens)) throw errors.vendingUnavailable()
    try {
      const t = await tokens.mint({ sessionName: sessionNameOf(req.user_id, opts.keyId), durationSeconds: ttl, scope: botChatScope(botIds) })
      return { access_token: t.access_token, expires_at: Math.floor(t.expires_at_ms / 1000), bot_ids: botIds }
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err
      lease.report(err)
      const next = pool.retry(lease)
      if (!next) throw err
      lease = next
    }
  }
}
