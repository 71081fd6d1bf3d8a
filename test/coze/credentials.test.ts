// The credential pool and OAuth tokens, on the real SDK against the emulator: what a call
// goes out with, how many tokens are minted, and what a credential's failures do to it.
import { generateKeyPairSync } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CozeAPI } from '@coze/api'
import { createCozeClient, type CozeClient } from '../../src/coze/client.js'
import { CredentialPool, type PoolOptions } from '../../src/coze/credentials.js'
import { getMe } from '../../src/coze/account.js'
import { createConversation, retrieveConversation } from '../../src/coze/conversations.js'
import { streamChat } from '../../src/coze/chat.js'
import { vendToken } from '../../src/coze/vend.js'
import { regionHint } from '../../src/coze/region.js'
import type { CredentialSpec, OAuthAppSpec } from '../../src/credentials-config.js'
import { GatewayError } from '../../src/errors.js'
import { startEmulator, type Emulator } from '../../src/emulator/index.js'

const APP_ID = '1150000000042'
const KEY_ID = 'kid_pool_test'
const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
const app: OAuthAppSpec = { kind: 'oauth', appId: APP_ID, keyId: KEY_ID, privateKey: keys.privateKey, source: 'COZE_OAUTH_APP_ID' }
const pat = (token: string, i: number): CredentialSpec => ({ kind: 'pat', token, source: `COZE_API_TOKENS item ${i + 1}` })

interface Line { level: string, obj: Record<string, unknown>, msg: string }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const nowSec = () => Math.floor(Date.now() / 1000)

let emu: Emulator
const clients: CozeClient[] = []

function client (specs: CredentialSpec[], opts: Partial<PoolOptions> = {}): { coze: CozeClient, lines: Line[] } {
  const lines: Line[] = []
  const log = (level: string) => (obj: Record<string, unknown>, msg: string) => { lines.push({ level, obj, msg }) }
  const credentials = new CredentialPool(specs, { baseURL: emu.url, cooldownMs: 100, recheckMs: 100, ...opts, log: { info: log('info'), warn: log('warn'), error: log('error') } as never })
  const coze = createCozeClient({ baseURL: emu.url, credentials, requestTimeoutMs: 5000 })
  clients.push(coze)
  return { coze, lines }
}

/** The bearer token of each recorded request to `path`, in order. */
const bearers = (path: string) => emu.requests.filter((r) => r.path === path).map((r) => String(r.headers.authorization).slice(7))
const chatTurn = (text = 'hi') => ({ bot_id: 'bot-echo', user_id: 'u1', additional_messages: [{ role: 'user' as never, content: text, content_type: 'text' as const }] })
const limits = { connectTimeoutMs: 5000, idleTimeoutMs: 5000 }
async function drainChat (coze: CozeClient) {
  const types: string[] = []
  for await (const ev of streamChat(coze, chatTurn(), limits)) types.push(ev.type)
  return types
}

beforeAll(async () => {
  emu = await startEmulator({ tokens: ['tok_A', 'tok_B'], oauthApps: [{ appId: APP_ID, keyId: KEY_ID, publicKey: keys.publicKey }] })
})
afterEach(() => {
  for (const c of clients.splice(0)) { c.credentials.stop(); c.close() }
  emu.faults.clear()
  emu.tokens.add('tok_A')
  emu.tokens.add('tok_B')
})
afterAll(async () => { await emu.close() })

describe('an OAuth JWT app', () => {
  it('mints with getJWTToken (duration_seconds = the TTL, a new jti each time) and reuses the token', async () => {
    const { coze } = client([app], { tokenTtlSeconds: 600 })
    const before = emu.oauth.minted
    await getMe(coze)
    await getMe(coze)
    await drainChat(coze)
    expect(emu.oauth.minted).toBe(before + 1)
    const mint = emu.requests.filter((r) => r.path === '/api/permission/oauth2/token').at(-1)!
    expect(mint.body).toMatchObject({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', duration_seconds: 600 })
    const token = emu.oauth.issued.at(-1)!
    expect(token.expires_in).toBeGreaterThan(nowSec() + 590)
    // every Coze call went out with the minted token
    expect(bearers('/v1/users/me').slice(-2)).toEqual([token.access_token, token.access_token])
    expect(bearers('/v3/chat').at(-1)).toBe(token.access_token)
  })

  it('several tokens in a row: many concurrent calls at expiry cause one refresh each time', async () => {
    // 2 s tokens: the next one is minted from 0.4 s before expiry
    const { coze } = client([app], { tokenTtlSeconds: 2 })
    const before = emu.oauth.minted
    for (let round = 1; round <= 3; round++) {
      await Promise.all(Array.from({ length: 25 }, () => getMe(coze)))
      expect(emu.oauth.minted).toBe(before + round)
      await sleep(2100)
    }
    const jtis = emu.oauth.jtis.slice(-3)
    expect(new Set(jtis).size).toBe(3)
  })

  it('a refresh that fails: the still-valid token is used until it expires, then 503 UPSTREAM_AUTH_UNAVAILABLE', async () => {
    const { coze } = client([app], { tokenTtlSeconds: 3 })
    await getMe(coze)
    const { access_token: token, expires_in: expiresIn } = emu.oauth.issued.at(-1)!
    emu.faults.inject({ kind: 'http_status', status: 500 }, { path: '/api/permission/oauth2/token' })
    // in the refresh margin (the last 0.6 s): the refresh fails, the call still goes out on the old token
    await sleep(expiresIn * 1000 - 300 - Date.now())
    await getMe(coze)
    expect(bearers('/v1/users/me').at(-1)).toBe(token)
    await sleep(expiresIn * 1000 + 100 - Date.now())
    const err = await getMe(coze).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GatewayError)
    expect(err).toMatchObject({ statusCode: 503, code: 'UPSTREAM_AUTH_UNAVAILABLE' })
    expect((err as Error).message).toContain(APP_ID)
    emu.faults.clear()
    await sleep(1000) // a failed mint is not retried sooner
    await expect(getMe(coze)).resolves.toBeDefined()
  })

  it('a token Coze ends early (4100) is minted anew and the call retried once, unseen by the caller', async () => {
    const early = await startEmulator({ oauthApps: [{ appId: APP_ID, keyId: KEY_ID, publicKey: keys.publicKey }], oauthTokenTtlSeconds: 1 })
    try {
      const credentials = new CredentialPool([app], { baseURL: early.url, tokenTtlSeconds: 900 })
      const coze = createCozeClient({ baseURL: early.url, credentials, requestTimeoutMs: 5000 })
      clients.push(coze)
      await getMe(coze)
      await sleep(1100)
      await getMe(coze)
      expect(await drainChat(coze)).toContain('chat_completed')
      expect(early.oauth.minted).toBe(2)
      expect(credentials.snapshot()[0]!.state).toBe('active')
    } finally { await early.close() }
  })

  it('session isolation: one token per user (session_name), kept in a bounded LRU', async () => {
    const { coze } = client([app], { sessionIsolation: true, sessionCacheSize: 2 })
    const before = emu.oauth.minted
    await getMe(coze, { user: 'alice' })
    await getMe(coze, { user: 'bob' })
    await getMe(coze, { user: 'alice' })
    expect(emu.oauth.minted).toBe(before + 2)
    expect(emu.oauth.issued.slice(-2).map((t) => t.session_name)).toEqual(['alice', 'bob'])
    await getMe(coze, { user: 'carol' }) // the cache holds 2: bob, the least recently used, is evicted
    await getMe(coze, { user: 'bob' }) // so bob's token is minted again
    expect(emu.oauth.issued.slice(-2).map((t) => t.session_name)).toEqual(['carol', 'bob'])
    expect(emu.oauth.minted).toBe(before + 4)
    // Coze keeps the users apart: alice's conversation is not bob's
    const conv = await createConversation(coze, { bot_id: 'bot-echo' }, { user: 'alice' })
    await expect(retrieveConversation(coze, conv.id, { user: 'alice' })).resolves.toMatchObject({ id: conv.id })
    await expect(retrieveConversation(coze, conv.id, { user: 'bob' })).rejects.toMatchObject({ cozeCode: 4200 })
  })
})

describe('a pool of credentials', () => {
  it('spreads calls round-robin', async () => {
    const { coze } = client([pat('tok_A', 0), pat('tok_B', 1)])
    for (let i = 0; i < 4; i++) await getMe(coze)
    expect(bearers('/v1/users/me').slice(-4)).toEqual(['tok_A', 'tok_B', 'tok_A', 'tok_B'])
  })

  it('a 429 with Retry-After: the call moves to the other credential; A cools down for Retry-After, then serves again', async () => {
    const { coze, lines } = client([pat('tok_A', 0), pat('tok_B', 1)])
    emu.faults.inject({ kind: 'http_status', status: 429, retryAfter: 1 }, { token: 'tok_A', times: 1 })
    const results = await Promise.all(Array.from({ length: 6 }, () => getMe(coze)))
    expect(results).toHaveLength(6)
    const [a] = coze.credentials.snapshot()
    expect(a!.state).toBe('cooldown')
    expect(a!.cooldown_until! - Date.now()).toBeGreaterThan(500)
    expect(a!.cooldown_until! - Date.now()).toBeLessThanOrEqual(1000)
    expect(lines.some((l) => l.level === 'warn' && l.obj.credential === 0 && /Retry-After/.test(l.msg))).toBe(true)
    // while A cools down, B takes everything
    const n = bearers('/v1/users/me').length
    await getMe(coze); await getMe(coze)
    expect(bearers('/v1/users/me').slice(n)).toEqual(['tok_B', 'tok_B'])
    await sleep(1050)
    expect(coze.credentials.snapshot()[0]!.state).toBe('active')
    await getMe(coze); await getMe(coze)
    expect(bearers('/v1/users/me').slice(-2)).toContain('tok_A')
  })

  it('without Retry-After the cooldown backs off exponentially, up to the cap', async () => {
    const { coze } = client([pat('tok_A', 0), pat('tok_B', 1)], { cooldownMs: 200, cooldownMaxMs: 500, strategy: 'least-recently-limited' })
    emu.faults.inject({ kind: 'coze_error', code: 4013 }, { token: 'tok_A' })
    const cooldown = async () => {
      // wait for A to be active, then send until A is hit again
      while (coze.credentials.snapshot()[0]!.state !== 'active') await sleep(20)
      const pool = coze.credentials
      const lease = pool.lease({ credential: 0 })
      await getMe(coze, { lease }).catch(() => {})
      return pool.snapshot()[0]!.cooldown_until! - Date.now()
    }
    const first = await cooldown()
    const second = await cooldown()
    const third = await cooldown()
    expect(first).toBeLessThanOrEqual(200)
    expect(second).toBeGreaterThan(250)
    expect(second).toBeLessThanOrEqual(400)
    expect(third).toBeGreaterThan(400)
    expect(third).toBeLessThanOrEqual(500)
    // least-recently-limited: B, never limited, is preferred over A once A is back
    while (coze.credentials.snapshot()[0]!.state !== 'active') await sleep(20)
    emu.faults.clear()
    const n = bearers('/v1/users/me').length
    await getMe(coze); await getMe(coze)
    expect(bearers('/v1/users/me').slice(n)).toEqual(['tok_B', 'tok_B'])
  })

  it('4100 disables a credential (logged by index, never by value) and the background check brings it back', async () => {
    const { coze, lines } = client([pat('tok_A', 0), pat('tok_B', 1)], { recheckMs: 100 })
    coze.credentials.watch((lease) => getMe(coze, { lease }))
    emu.tokens.delete('tok_A')
    for (let i = 0; i < 4; i++) await getMe(coze)
    const snap = coze.credentials.snapshot()
    expect(snap[0]).toMatchObject({ state: 'disabled', disabled_reason: 'Coze code 4100' })
    expect(snap[1]!.state).toBe('active')
    const errorLines = lines.filter((l) => l.level === 'error')
    expect(errorLines).toHaveLength(1)
    expect(errorLines[0]!.msg).toContain('credential #0 (COZE_API_TOKENS item 1)')
    expect(JSON.stringify(lines)).not.toContain('tok_A')
    await sleep(300)
    expect(coze.credentials.snapshot()[0]!.state).toBe('disabled') // still revoked: the checks fail
    emu.tokens.add('tok_A')
    const until = Date.now() + 3000
    while (coze.credentials.snapshot()[0]!.state !== 'active' && Date.now() < until) await sleep(50)
    expect(coze.credentials.snapshot()[0]!.state).toBe('active')
    expect(lines.some((l) => l.level === 'info' && /works again/.test(l.msg))).toBe(true)
  })

  it('a pinned call never moves to another credential', async () => {
    const { coze } = client([pat('tok_A', 0), pat('tok_B', 1)])
    emu.faults.inject({ kind: 'coze_error', code: 4013 }, { token: 'tok_A', path: '/v1/users/me' })
    await expect(getMe(coze, { credential: 0 })).rejects.toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' })
    expect(bearers('/v1/users/me').at(-1)).toBe('tok_A')
  })

  it('with one credential left, a call is still sent (never refused for its state)', async () => {
    const { coze } = client([pat('tok_A', 0)])
    emu.faults.inject({ kind: 'coze_error', code: 4013 }, { token: 'tok_A', times: 1 })
    await expect(getMe(coze)).rejects.toMatchObject({ statusCode: 429 })
    expect(coze.credentials.snapshot()[0]!.state).toBe('cooldown')
    await expect(getMe(coze)).resolves.toBeDefined()
    expect(coze.credentials.snapshot()[0]!.state).toBe('active')
  })
})

describe('token vending', () => {
  it('mints a token for some bots only, with the user as session_name, its TTL bounded', async () => {
    const { coze } = client([app])
    const v = await vendToken(coze.credentials, { bot_ids: ['bot-echo', 'bot-echo'], user_id: 'alice', ttl_seconds: 3600 }, { maxTtlSeconds: 900 })
    expect(v.bot_ids).toEqual(['bot-echo'])
    expect(v.expires_at).toBeLessThanOrEqual(nowSec() + 900)
    expect(v.expires_at).toBeGreaterThan(nowSec() + 890)
    const issued = emu.oauth.issued.at(-1)!
    expect(issued).toMatchObject({ access_token: v.access_token, session_name: 'alice', bot_ids: ['bot-echo'] })
    expect(emu.requests.filter((r) => r.path === '/api/permission/oauth2/token').at(-1)!.body).toMatchObject({
      duration_seconds: 900,
      scope: { account_permission: { permission_list: ['Connector.botChat'] }, attribute_constraint: { connector_bot_chat_attribute: { bot_id_list: ['bot-echo'] } } }
    })
    // the frontend's view: that bot works, another one is refused by Coze
    const frontend = new CozeAPI({ token: v.access_token, baseURL: emu.url })
    const ok: string[] = []
    for await (const ev of await frontend.chat.stream(chatTurn())) ok.push(ev.event)
    expect(ok.at(-1)).toBe('done')
    const refused: unknown[] = []
    for await (const ev of await frontend.chat.stream({ ...chatTurn(), bot_id: 'bot-reasoning' })) refused.push(ev.data)
    expect(refused[0]).toMatchObject({ code: 4101 })
    // a shorter ttl is kept as asked
    const short = await vendToken(coze.credentials, { bot_ids: ['bot-echo'], user_id: 'alice', ttl_seconds: 60 }, { maxTtlSeconds: 900 })
    expect(short.expires_at).toBeLessThanOrEqual(nowSec() + 60)
  })

  it('is not available on personal access tokens', async () => {
    const { coze } = client([pat('tok_A', 0)])
    await expect(vendToken(coze.credentials, { bot_ids: ['bot-echo'], user_id: 'alice' }, { maxTtlSeconds: 900 })).rejects.toMatchObject({ statusCode: 404, message: expect.stringContaining('OAuth') })
  })
})

describe('cn/com hints on a rejected credential', () => {
  it('names the region of each side, and the fix', () => {
    expect(regionHint('https://api.coze.com', { kind: 'oauth', source: 'f.json', apiBase: 'https://api.coze.cn' }))
      .toContain('set COZE_API_BASE=https://api.coze.cn')
    expect(regionHint('https://api.coze.cn', { kind: 'oauth', source: 'f.json', apiBase: 'https://api.coze.com' }))
      .toContain('set COZE_API_BASE=https://api.coze.com')
    const pat = regionHint('https://api.coze.com', { kind: 'pat', source: 'COZE_API_TOKEN' })
    expect(pat).toContain('COZE_API_TOKEN')
    expect(pat).toContain('a token made on coze.cn is rejected there')
    expect(pat).toContain('https://api.coze.cn')
  })

  it('a 4100 message names the credential and its config, never the token', async () => {
    const { coze } = client([pat('tok_A', 0), pat('tok_B', 1)])
    emu.faults.inject({ kind: 'coze_error', code: 4100 })
    const err = await getMe(coze).then(() => undefined, (e: GatewayError) => e)
    if (!err) throw new Error('expected a 4100')
    expect(err).toMatchObject({ statusCode: 502, code: 'UPSTREAM_AUTH', cozeCode: 4100 })
    expect(err.message).toMatch(/credential #[01] \(COZE_API_TOKENS item [12]\)/)
    expect(err.message).not.toMatch(/tok_[AB]/)
  })
})
