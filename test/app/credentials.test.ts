// Production credentials through the gateway: an OAuth JWT app end to end, per-user
// isolation, a pool of PATs with failover, recovery, no retry once a byte went out, the
// conversation staying on its credential, and token vending's gate.
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { CozeAPI } from '@coze/api'
import { ConfigError, loadConfig } from '../../src/config.js'
import { parseSse, startStack, userMsg, type Stack } from '../helpers/stack.js'
import { bearer as auth, writeKeysFile, type KeysFile } from '../helpers/keys.js'

const APP_ID = '1150000000077'
const KEY_ID = 'kid_gateway_test'
const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
const oauthApps = [{ appId: APP_ID, keyId: KEY_ID, publicKey: keys.publicKey }]
const files: string[] = []

/** The console's JSON for a service app, written to a scratch file. */
function consoleFile (over: Record<string, unknown> = {}): string {
  const path = join(tmpdir(), `coze-oauth-${randomBytes(6).toString('hex')}.json`)
  writeFileSync(path, JSON.stringify({
    client_type: 'jwt', client_id: APP_ID, coze_www_base: 'https://www.coze.cn', coze_api_base: 'https://api.coze.cn',
    private_key: keys.privateKey, public_key_id: KEY_ID, ...over
  }))
  files.push(path)
  return path
}
afterAll(() => { for (const f of files) rmSync(f, { force: true }) })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const chat = (s: Stack, body: Record<string, unknown> = {}) =>
  s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', messages: [userMsg('hi')], ...body } })
const bearer = (r: { headers: Record<string, unknown> }) => String(r.headers.authorization).slice(7)
const chatsBy = (s: Stack, from = 0) => s.emu.requests.slice(from).filter((r) => r.path === '/v3/chat').map(bearer)
const config = async (s: Stack) => (await s.app.inject('/api/v1/config')).json().data

describe('an OAuth JWT app (COZE_OAUTH_CONFIG_FILE)', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ COZE_OAUTH_CONFIG_FILE: consoleFile(), COZE_OAUTH_TOKEN_TTL: '600' }, { oauthApps }) })
  afterAll(async () => { await s.close() })

  it('chats on minted tokens; /api/v1/config shows the mode and the app id, never the key', async () => {
    const res = await chat(s)
    expect(res.statusCode).toBe(200)
    expect(res.json().data.content).toContain('You said: "hi"')
    const streamed = await chat(s, { stream: true })
    expect(parseSse(streamed.body).map((f) => f.type)).toContain('chat_completed')
    expect(s.emu.oauth.minted).toBe(1)
    const token = s.emu.oauth.issued[0]!.access_token
    expect(chatsBy(s)).toEqual([token, token])
    const mint = s.emu.requests.find((r) => r.path === '/api/permission/oauth2/token')!
    expect(mint.body).toMatchObject({ duration_seconds: 600 })
    const jwt = JSON.parse(Buffer.from(bearer(mint).split('.')[1]!, 'base64url').toString())
    expect(jwt).toMatchObject({ iss: APP_ID, aud: 'api.coze.cn' })

    const c = await config(s)
    expect(c.coze_auth).toMatchObject({ mode: 'oauth', app_id: APP_ID, session_isolation: false })
    expect(c.credentials).toEqual([{ index: 0, kind: 'oauth', app_id: APP_ID, state: 'active', cooldown_until: null, disabled_reason: null }])
    expect(c.token).toEqual({ configured: true })
    const text = JSON.stringify(c)
    expect(text).not.toContain('PRIVATE KEY')
    expect(text).not.toContain(token)
  })
})

describe('OAuth through variables, and start errors', () => {
  it('COZE_OAUTH_APP_ID + COZE_OAUTH_KEY_ID + COZE_OAUTH_PRIVATE_KEY (one line, \\n escaped) works the same', async () => {
    const s = await startStack({ COZE_OAUTH_APP_ID: APP_ID, COZE_OAUTH_KEY_ID: KEY_ID, COZE_OAUTH_PRIVATE_KEY: keys.privateKey.replace(/\n/g, '\\n') }, { oauthApps })
    try {
      expect((await chat(s)).statusCode).toBe(200)
      expect(s.emu.oauth.minted).toBe(1)
    } finally { await s.close() }
  })

  it('a PAT and an OAuth app together, or an incomplete app, are start errors that say what to fix without the key', () => {
    const both = () => loadConfig({ COZE_API_TOKEN: 'pat_x', COZE_OAUTH_CONFIG_FILE: consoleFile() })
    expect(both).toThrow(ConfigError)
    expect(both).toThrow(/not both/)
    expect(() => loadConfig({ COZE_API_TOKENS: 'pat_a,pat_b', COZE_OAUTH_APP_ID: APP_ID, COZE_OAUTH_KEY_ID: KEY_ID, COZE_OAUTH_PRIVATE_KEY: keys.privateKey })).toThrow(/not both/)
    expect(() => loadConfig({ COZE_OAUTH_APP_ID: APP_ID })).toThrow(/COZE_OAUTH_KEY_ID.*COZE_OAUTH_PRIVATE_KEY/)
    expect(() => loadConfig({ COZE_OAUTH_CONFIG_FILE: consoleFile({ public_key_id: undefined }) })).toThrow(/public_key_id/)
    expect(() => loadConfig({ COZE_OAUTH_CONFIG_FILE: consoleFile({ client_type: 'pkce' }) })).toThrow(/"pkce".*client_type "jwt"/)
    expect(() => loadConfig({ COZE_OAUTH_CONFIG_FILE: '/nonexistent/app.json' })).toThrow(/cannot read \/nonexistent\/app.json/)
    let message = ''
    try { loadConfig({ COZE_OAUTH_APP_ID: APP_ID, COZE_OAUTH_KEY_ID: KEY_ID, COZE_OAUTH_PRIVATE_KEY: keys.privateKey.slice(0, 400) }) } catch (e) { message = (e as Error).message }
    expect(message).toMatch(/COZE_OAUTH_PRIVATE_KEY cannot be read as a private key/)
    expect(message).not.toContain(keys.privateKey.split('\n')[1]!)
  })

  it('COZE_API_TOKEN and COZE_API_TOKENS make one pool, COZE_API_TOKEN first, each token once', () => {
    const c = loadConfig({ COZE_API_TOKEN: 'pat_a', COZE_API_TOKENS: ' pat_b , pat_a,pat_c ' })
    expect(c.credentials.map((x) => x.kind === 'pat' && x.token)).toEqual(['pat_a', 'pat_b', 'pat_c'])
  })
})

describe('per-user isolation (COZE_OAUTH_SESSION_ISOLATION)', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ COZE_OAUTH_CONFIG_FILE: consoleFile(), COZE_OAUTH_SESSION_ISOLATION: 'true' }, { oauthApps }) })
  afterAll(async () => { await s.close() })

  it('each user chats on a token of their own; Coze keeps their conversations apart', async () => {
    const alice = (await chat(s, { user_id: 'alice', messages: [userMsg('I am Alice')] })).json().data
    const bob = (await chat(s, { user_id: 'bob', messages: [userMsg('I am Bob')] })).json().data
    const issued = s.emu.oauth.issued
    const tokenOf = (name: string) => issued.find((t) => t.session_name === name)!.access_token
    expect(issued.map((t) => t.session_name).sort()).toEqual(['alice', 'bob'])
    expect(chatsBy(s)).toEqual([tokenOf('alice'), tokenOf('bob')])

    // alice continues her conversation on her token, and sees her history
    const again = (await chat(s, { user_id: 'alice', conversation_id: alice.conversation_id, messages: [userMsg('who am I?')] })).json().data
    expect(again.content).toContain('Earlier you said: "I am Alice"')
    expect(chatsBy(s).at(-1)).toBe(tokenOf('alice'))
    const history = await s.app.inject(`/api/v1/conversations/${alice.conversation_id}/messages?user_id=alice&order=asc`)
    expect(history.statusCode).toBe(200)
    expect(bearer(s.emu.requests.at(-1)!)).toBe(tokenOf('alice'))

    // Coze itself refuses bob's token on alice's conversation (not just the gateway's owner check)
    const asBob = new CozeAPI({ token: tokenOf('bob'), baseURL: s.emu.url })
    await expect(asBob.conversations.retrieve(alice.conversation_id)).rejects.toMatchObject({ code: 4200 })
    await expect(asBob.conversations.retrieve(bob.conversation_id)).resolves.toMatchObject({ id: bob.conversation_id })
    expect((await config(s)).coze_auth.session_isolation).toBe(true)
  })
})

describe('a pool of PATs (COZE_API_TOKENS)', () => {
  let s: Stack
  beforeAll(async () => {
    s = await startStack({ COZE_API_TOKENS: 'tok_A,tok_B', COZE_CREDENTIAL_RECHECK_MS: '200', SESSION_STORE: 'memory' }, { tokens: ['tok_A', 'tok_B'] })
  })
  afterEach(() => { s.emu.faults.clear(); s.emu.tokens.add('tok_A') })
  afterAll(async () => { await s.close() })

  const waitFor = async (state: string, index = 0, ms = 5000) => {
    const until = Date.now() + ms
    for (;;) {
      const c = (await config(s)).credentials[index]
      if (c.state === state || Date.now() > until) return c
      await sleep(50)
    }
  }

  it('failover: one credential rate-limited mid-run, no client sees an error, and it recovers after its cooldown', async () => {
    await waitFor('active')
    const from = s.emu.requests.length
    const run = (n: number, stream: boolean) => Promise.all(Array.from({ length: n }, (_, i) => chat(s, { user_id: `u${i}`, stream })))
    const first = await run(6, false)
    s.emu.faults.inject({ kind: 'http_status', status: 429, retryAfter: 1 }, { token: 'tok_A', path: '/v3/chat' })
    const during = [...await run(6, false), ...await run(6, true)]
    for (const r of [...first, ...during]) {
      expect(r.statusCode).toBe(200)
      if (r.headers['content-type']?.toString().includes('event-stream')) expect(parseSse(r.body).map((f) => f.type)).toContain('chat_completed')
    }
    const c = (await config(s)).credentials
    expect(c[0]).toMatchObject({ index: 0, kind: 'pat', state: 'cooldown' })
    expect(Date.parse(c[0].cooldown_until)).toBeGreaterThan(Date.now())
    expect(c[1].state).toBe('active')
    expect(chatsBy(s, from).filter((t) => t === 'tok_A').length).toBeGreaterThan(0)
    s.emu.faults.clear()
    expect((await waitFor('active')).state).toBe('active')
    const after = s.emu.requests.length
    await run(4, false)
    expect(chatsBy(s, after)).toContain('tok_A')
  })

  it('a disabled credential (4100) recovers when the background check passes', async () => {
    const from = s.emu.requests.length
    s.emu.tokens.delete('tok_A')
    const res = await Promise.all(Array.from({ length: 4 }, () => chat(s)))
    for (const r of res) expect(r.statusCode).toBe(200)
    expect(await waitFor('disabled')).toMatchObject({ state: 'disabled', disabled_reason: 'Coze code 4100' })
    const line = s.logs.find((l) => l.includes('disabled') && l.includes('"level":50'))!
    expect(line).toContain('credential #0 (COZE_API_TOKENS item 1)')
    expect(line).not.toContain('tok_A')
    // while disabled, tok_B takes the traffic
    const n = s.emu.requests.length
    await chat(s); await chat(s)
    expect(chatsBy(s, n)).toEqual(['tok_B', 'tok_B'])
    s.emu.tokens.add('tok_A')
    expect((await waitFor('active')).state).toBe('active')
    expect(s.emu.requests.slice(from).some((r) => r.path === '/v1/users/me' && bearer(r) === 'tok_A')).toBe(true)
  })

  it('no retry after the first byte: a credential limited mid-stream ends that stream with an error frame', async () => {
    await waitFor('active')
    s.emu.faults.inject({ kind: 'stream_error', afterDeltas: 1, code: 4013 }, { path: '/v3/chat', times: 1 })
    const from = s.emu.requests.length
    const res = await chat(s, { stream: true })
    const frames = parseSse(res.body)
    expect(frames.map((f) => f.type)).toEqual(['message_delta', 'error', 'end'])
    expect(frames[1]).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED' })
    expect(chatsBy(s, from)).toHaveLength(1)
    // a JSON answer: the chat ran in Coze (it was created, a delta came), so it is not run twice either
    s.emu.faults.inject({ kind: 'stream_error', afterDeltas: 1, code: 4013 }, { path: '/v3/chat', times: 1 })
    const n = s.emu.requests.length
    const json = await chat(s)
    expect(json.statusCode).toBe(429)
    expect(chatsBy(s, n)).toHaveLength(1)
  })

  it('a conversation stays on the credential that created it, even while that credential is limited', async () => {
    for (let i = 0; i < 2; i++) await waitFor('active', i)
    const first = (await chat(s, { user_id: 'carol' })).json().data
    const owner = chatsBy(s).at(-1)!
    for (let i = 0; i < 3; i++) {
      const r = await chat(s, { user_id: 'carol', conversation_id: first.conversation_id, messages: [userMsg(`turn ${i}`)] })
      expect(r.statusCode).toBe(200)
    }
    expect(chatsBy(s).slice(-3)).toEqual([owner, owner, owner])
    // a session too: its conversation, created on one credential, keeps every turn there
    const sess = (await chat(s, { user_id: 'carol', session_id: 'cred-sess' })).json().data
    const sessionOwner = s.emu.requests.filter((r) => r.path === '/v1/conversation/create').map(bearer).at(-1)!
    await chat(s, { user_id: 'carol', session_id: 'cred-sess', messages: [userMsg('again')] })
    expect(chatsBy(s).slice(-2)).toEqual([sessionOwner, sessionOwner])
    expect(sess.session_id).toBe('cred-sess')

    s.emu.faults.inject({ kind: 'coze_error', code: 4013 }, { token: owner, path: '/v3/chat' })
    const n = s.emu.requests.length
    const limited = await chat(s, { user_id: 'carol', conversation_id: first.conversation_id, messages: [userMsg('now?')] })
    expect(limited.statusCode).toBe(429)
    expect(chatsBy(s, n)).toEqual([owner])
  })
})

describe('token vending (POST /api/v1/auth/token)', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ COZE_OAUTH_CONFIG_FILE: consoleFile() }, { oauthApps }) })
  afterAll(async () => { await s.close() })

  it('does not exist without gateway API keys (404, even for a bad body), and mints nothing', async () => {
    const before = s.emu.oauth.minted
    for (const payload of [{ bot_ids: ['bot-echo'], user_id: 'alice', ttl_seconds: 60 }, { nonsense: true }]) {
      const res = await s.app.inject({ method: 'POST', url: '/api/v1/auth/token', payload })
      expect(res.statusCode).toBe(404)
      expect(res.json()).toMatchObject({ success: false, code: 'NOT_FOUND' })
    }
    expect(s.emu.oauth.minted).toBe(before)
  })
})

describe('token vending with gateway API keys', () => {
  let s: Stack
  let keysFile: KeysFile
  const VEND = 'cgw_vend_key_for_tests_0001'
  const CHAT = 'cgw_chat_key_for_tests_0002'
  beforeAll(async () => {
    keysFile = writeKeysFile([
      { id: 'backend', raw: VEND, scopes: ['vend', 'chat'], bots: ['bot-echo', 'bot-tool'] },
      { id: 'web', raw: CHAT, scopes: ['chat'], bots: ['*'] }
    ])
    s = await startStack({ COZE_OAUTH_CONFIG_FILE: consoleFile(), GATEWAY_KEYS_FILE: keysFile.path, COZE_VEND_MAX_TTL: '120' }, { oauthApps })
  })
  afterAll(async () => { await s.close(); keysFile.close() })

  const vend = (payload: Record<string, unknown>, key?: string) =>
    s.app.inject({ method: 'POST', url: '/api/v1/auth/token', payload, headers: key ? auth(key) : {} })

  it('a `vend` key mints a token restricted to its bots, for one user, bounded by COZE_VEND_MAX_TTL', async () => {
    const before = Math.floor(Date.now() / 1000)
    const res = await vend({ bot_ids: ['bot-echo'], user_id: 'alice', ttl_seconds: 3600 }, VEND)
    expect(res.statusCode).toBe(200)
    const data = res.json().data as { access_token: string, expires_at: string, expires_in: number, bot_ids: string[] }
    expect(data.bot_ids).toEqual(['bot-echo'])
    expect(data.expires_in).toBeLessThanOrEqual(before + 120 + 5)
    expect(data.expires_at).toBe(new Date(data.expires_in * 1000).toISOString())
    const mint = s.emu.requests.filter((r) => r.path === '/api/permission/oauth2/token').at(-1)!
    expect(mint.body).toMatchObject({ duration_seconds: 120 })
    const jwt = JSON.parse(Buffer.from(bearer(mint).split('.')[1]!, 'base64url').toString())
    expect(jwt.session_name).toBe('backend:alice')

    // The token talks to Coze directly: its bot works, another bot is Coze's permission error.
    const coze = new CozeAPI({ token: data.access_token, baseURL: s.emu.url })
    const ok = await coze.chat.createAndPoll({ bot_id: 'bot-echo', user_id: 'alice', additional_messages: [{ role: 'user' as never, content: 'hi', content_type: 'text' }] })
    expect(ok.chat.status).toBe('completed')
    await expect(coze.chat.createAndPoll({ bot_id: 'bot-tool', user_id: 'alice', additional_messages: [{ role: 'user' as never, content: 'hi', content_type: 'text' }] })).rejects.toMatchObject({ code: 4101 })
  })

  it('no key is 401, a key without `vend` 403, a bot outside the key\'s bots 403; nothing is minted', async () => {
    const before = s.emu.oauth.minted
    expect((await vend({ bot_ids: ['bot-echo'], user_id: 'a' })).statusCode).toBe(401)
    const noScope = await vend({ bot_ids: ['bot-echo'], user_id: 'a' }, CHAT)
    expect(noScope.statusCode).toBe(403)
    expect(noScope.json()).toMatchObject({ code: 'FORBIDDEN' })
    const otherBot = await vend({ bot_ids: ['bot-reasoning'], user_id: 'a' }, VEND)
    expect(otherBot.statusCode).toBe(403)
    expect(otherBot.json().message).toContain('bot-reasoning')
    expect(s.emu.oauth.minted).toBe(before)
  })
})
