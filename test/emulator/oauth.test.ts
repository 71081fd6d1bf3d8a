import { randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  AuthenticationError, BadRequestError, CozeAPI, InternalServerError, NotFoundError, PermissionDeniedError, _getJWTToken, getJWTToken
} from '@coze/api'
import type { JWTScope } from '@coze/api'
import { CHATFLOW_ECHO_ID, startEmulator } from '../../src/emulator/index.js'
import type { Emulator } from '../../src/emulator/index.js'
import { caught, drain, raw, rsaKeyPair, signJwt, user } from './helpers.js'

const APP_ID = '1150000000001'
const KEY_ID = 'kid_emulator_test'
const keys = rsaKeyPair()
const other = rsaKeyPair()

let emu: Emulator
let pat: CozeAPI

beforeAll(async () => {
  emu = await startEmulator({ oauthApps: [{ appId: APP_ID, keyId: KEY_ID, publicKey: keys.publicKey }] })
  pat = new CozeAPI({ token: emu.token, baseURL: emu.url })
})
afterEach(() => emu.faults.clear())
afterAll(async () => { await emu.close() })

const botScope = (bot_id_list: string[]): JWTScope => ({
  account_permission: { permission_list: ['Connector.botChat'] },
  attribute_constraint: { connector_bot_chat_attribute: { bot_id_list } }
})

function mint (opts: { durationSeconds?: number; sessionName?: string; scope?: JWTScope; aud?: string } = {}): Promise<{ access_token: string; expires_in: number; token_type?: string }> {
  return getJWTToken({ baseURL: emu.url, appId: APP_ID, aud: opts.aud ?? 'api.coze.cn', keyid: KEY_ID, privateKey: keys.privateKey, ...opts })
}

const client = (token: string): CozeAPI => new CozeAPI({ token, baseURL: emu.url })
const now = (): number => Math.floor(Date.now() / 1000)
const claims = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ iss: APP_ID, aud: 'api.coze.cn', iat: now(), exp: now() + 600, jti: randomUUID(), ...over })
const exchange = (jwt: string, durationSeconds?: number) => _getJWTToken({ token: jwt, baseURL: emu.url, durationSeconds })
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('POST /api/permission/oauth2/token with getJWTToken()', () => {
  it('mints a Bearer token whose expires_in is an absolute unix time (default 900 s)', async () => {
    const before = emu.oauth.minted
    const t = await mint()
    expect(t.access_token).toMatch(/^czs_/)
    expect(t.token_type).toBe('Bearer')
    expect(t.expires_in).toBeGreaterThanOrEqual(now() + 899)
    expect(t.expires_in).toBeLessThanOrEqual(now() + 900)
    expect(emu.oauth.minted).toBe(before + 1)
    const req = emu.requests.at(-1)!
    expect(req.path).toBe('/api/permission/oauth2/token')
    expect(req.body).toMatchObject({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', duration_seconds: 900 })
    // the jti of the SDK's JWT is recorded
    const jwt = String(req.headers.authorization).slice(7)
    const { jti } = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString())
    expect(emu.oauth.jtis).toContain(jti)
  })

  it('honours duration_seconds up to 86399; more is 400 invalid_request (BadRequestError)', async () => {
    const t = await mint({ durationSeconds: 86399 })
    expect(t.expires_in).toBeGreaterThanOrEqual(now() + 86398)
    const err = await caught(mint({ durationSeconds: 86400 }))
    expect(err).toBeInstanceOf(BadRequestError)
    expect(err.status).toBe(400)
    expect(err.rawError).toEqual({ error_code: 'invalid_request', error_message: 'invalid request: duration_seconds' })
  })

  it('the minted token works on the API like a static token (chat, workflows, audio, files)', async () => {
    const c = client((await mint()).access_token)
    await expect(c.users.me()).resolves.toMatchObject({ user_id: expect.any(String) })
    const { events } = await drain(c.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('oauth hello')] }))
    expect(events.at(-1)?.event).toBe('done')
    expect(((await c.workflows.runs.create({ workflow_id: 'wf-echo', parameters: { a: 1 } })) as any).code).toBe(0)
    expect((await c.audio.voices.list()).voice_list.length).toBeGreaterThan(0)
    expect((await c.files.upload({ file: Buffer.from('hi') })).bytes).toBe(2)
  })

  it('expires for real: a 1 s token is refused with 4100 afterwards, on JSON and stream calls', async () => {
    const t = await mint({ durationSeconds: 1 })
    expect(t.expires_in).toBeLessThanOrEqual(now() + 1)
    const c = client(t.access_token)
    await expect(c.users.me()).resolves.toBeDefined()
    await sleep(1100)
    const err = await caught(c.users.me())
    expect(err).toBeInstanceOf(AuthenticationError)
    expect(err.code).toBe(4100)
    const { events } = await drain(c.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('x')] }))
    expect(events.map((e) => [e.event, (e.data as any).code])).toEqual([['error', 4100]])
  })

  it('a client with a token function refreshes by minting a new token when the old one nears expiry', async () => {
    let current: { access_token: string; expires_in: number } | undefined
    let mints = 0
    const c = new CozeAPI({
      baseURL: emu.url,
      token: async () => {
        if (!current || current.expires_in <= now()) { current = await mint({ durationSeconds: 1 }); mints++ }
        return current.access_token
      }
    })
    await c.users.me()
    await sleep(1100)
    await expect(c.users.me()).resolves.toBeDefined()
    expect(mints).toBe(2)
  })

  it('revoke() makes a token unusable', async () => {
    const t = await mint()
    expect(emu.oauth.revoke(t.access_token)).toBe(true)
    expect(await caught(client(t.access_token).users.me())).toBeInstanceOf(AuthenticationError)
    expect(emu.oauth.issued.find((i) => i.access_token === t.access_token)).toMatchObject({ revoked: true, app_id: APP_ID })
    expect(emu.oauth.revoke('czs_unknown')).toBe(false)
  })

  it('accepts the emulator host as aud', async () => {
    await expect(mint({ aud: new URL(emu.url).host })).resolves.toMatchObject({ token_type: 'Bearer' })
  })
})

describe('JWT checks: HTTP 401 {error_code:"invalid_client", error_message}', () => {
  it('a replayed jti is refused', async () => {
    const jwt = signJwt(keys.privateKey, { kid: KEY_ID }, claims())
    await expect(exchange(jwt)).resolves.toMatchObject({ access_token: expect.any(String) })
    const err = await caught(exchange(jwt))
    expect(err).toBeInstanceOf(AuthenticationError)
    expect(err.status).toBe(401)
    expect(err.rawError.error_code).toBe('invalid_client')
    expect(err.rawError.error_message).toMatch(/jti .* already been used/)
  })

  const bad: Array<[string, () => string, RegExp]> = [
    ['another key', () => signJwt(other.privateKey, { kid: KEY_ID }, claims()), /signature/],
    ['an unknown kid', () => signJwt(keys.privateKey, { kid: 'nope' }, claims()), /kid/],
    ['no kid', () => signJwt(keys.privateKey, {}, claims()), /kid/],
    ['another alg', () => signJwt(keys.privateKey, { kid: KEY_ID, alg: 'HS256' }, claims()), /alg/],
    ['a wrong iss', () => signJwt(keys.privateKey, { kid: KEY_ID }, claims({ iss: '999' })), /iss/],
    ['a wrong aud', () => signJwt(keys.privateKey, { kid: KEY_ID }, claims({ aud: 'example.com' })), /aud/],
    ['an expired exp', () => signJwt(keys.privateKey, { kid: KEY_ID }, claims({ iat: now() - 100, exp: now() - 1 })), /expired/],
    ['an iat in the future', () => signJwt(keys.privateKey, { kid: KEY_ID }, claims({ iat: now() + 120, exp: now() + 600 })), /iat/],
    ['no jti', () => signJwt(keys.privateKey, { kid: KEY_ID }, claims({ jti: undefined })), /jti/],
    ['not a JWT', () => 'pat_not_a_jwt', /JWT/]
  ]
  it.each(bad)('%s', async (_name, jwt, why) => {
    const before = emu.oauth.minted
    const err = await caught(exchange(jwt()))
    expect(err).toBeInstanceOf(AuthenticationError)
    expect(err.rawError).toEqual({ error_code: 'invalid_client', error_message: expect.stringMatching(why) })
    expect(err.headers['x-tt-logid']).toMatch(/^\d{14}/)
    expect(emu.oauth.minted).toBe(before)
  })

  it('iat within the skew is fine', async () => {
    await expect(exchange(signJwt(keys.privateKey, { kid: KEY_ID }, claims({ iat: now() + 10 })))).resolves.toBeDefined()
  })

  it('another grant_type is 400 unsupported_grant_type', async () => {
    const res = await raw(emu, 'POST', '/api/permission/oauth2/token', { grant_type: 'client_credentials' }, signJwt(keys.privateKey, { kid: KEY_ID }, claims()))
    expect(res.status).toBe(400)
    expect(JSON.parse(res.text)).toEqual({ error_code: 'unsupported_grant_type', error_message: 'not supported grant type: client_credentials' })
  })

  it('the account-scoped path works the same', async () => {
    const t = await getJWTToken({ baseURL: emu.url, appId: APP_ID, aud: 'api.coze.cn', keyid: KEY_ID, privateKey: keys.privateKey, accountId: '42' })
    expect(emu.requests.at(-1)!.path).toBe('/api/permission/oauth2/account/42/token')
    await expect(client(t.access_token).users.me()).resolves.toBeDefined()
  })

  it('the token endpoint takes faults by path (here a 503 once)', async () => {
    emu.faults.inject({ kind: 'http_status', status: 503 }, { path: '/api/permission/oauth2/token', times: 1 })
    const before = emu.oauth.minted
    expect(await caught(mint())).toBeInstanceOf(InternalServerError)
    expect(emu.oauth.minted).toBe(before)
    await expect(mint()).resolves.toBeDefined()
  })
})

describe('session_name isolates conversations', () => {
  it('a session sees its own conversations; other sessions, the app itself and PATs get 4200', async () => {
    const alice = client((await mint({ sessionName: 'alice' })).access_token)
    const bob = client((await mint({ sessionName: 'bob' })).access_token)
    const app = client((await mint()).access_token)

    const t1 = await drain(alice.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('I am Alice')] }))
    const convId = (t1.events[0]!.data as any).conversation_id
    const chatId = (t1.events[0]!.data as any).id

    for (const stranger of [bob, app, pat]) {
      expect(await caught(stranger.conversations.retrieve(convId))).toBeInstanceOf(NotFoundError)
      expect(await caught(stranger.conversations.messages.list(convId))).toBeInstanceOf(NotFoundError)
      expect(await caught(stranger.chat.retrieve(convId, chatId))).toBeInstanceOf(NotFoundError)
      const { events } = await drain(stranger.chat.stream({ bot_id: 'bot-echo', conversation_id: convId, additional_messages: [user('let me in')] }))
      expect(events.map((e) => [e.event, (e.data as any).code])).toEqual([['error', 4200]])
      const list = await stranger.conversations.list({ bot_id: 'bot-echo' })
      expect(list.conversations.map((c) => c.id)).not.toContain(convId)
      const flow = await drain(stranger.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, conversation_id: convId, additional_messages: [user('x')] }))
      expect((flow.events[0]!.data as any).code).toBe(4200)
    }

    // a fresh token of the same session carries on
    const alice2 = client((await mint({ sessionName: 'alice' })).access_token)
    const t2 = await drain(alice2.chat.stream({ bot_id: 'bot-echo', conversation_id: convId, additional_messages: [user('who am I?')] }))
    const answer = t2.events.find((e) => e.event === 'conversation.message.completed')!.data as any
    expect(answer.content).toContain('Earlier you said: "I am Alice"')
    expect((await alice2.conversations.list({ bot_id: 'bot-echo' })).conversations.map((c) => c.id)).toContain(convId)
  })

  it('app-level tokens (no session_name) share the app\'s conversations, apart from sessions and PATs', async () => {
    const a = client((await mint()).access_token)
    const b = client((await mint()).access_token)
    const conv = await a.conversations.create({ bot_id: 'bot-echo' })
    await expect(b.conversations.retrieve(conv.id)).resolves.toMatchObject({ id: conv.id })
    expect(await caught(pat.conversations.retrieve(conv.id))).toBeInstanceOf(NotFoundError)
    const patConv = await pat.conversations.create({ bot_id: 'bot-echo' })
    expect(await caught(a.conversations.retrieve(patConv.id))).toBeInstanceOf(NotFoundError)
  })
})

describe('bot-restricted tokens (scope Connector.botChat + bot_id_list)', () => {
  it('chat with a listed bot works; another bot is 4101 (PermissionDeniedError / error event)', async () => {
    const c = client((await mint({ scope: botScope(['bot-echo']) })).access_token)
    expect(emu.oauth.issued.at(-1)!.bot_ids).toEqual(['bot-echo'])
    const ok = await drain(c.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('allowed')] }))
    expect(ok.events.at(-1)?.event).toBe('done')
    const denied = await drain(c.chat.stream({ bot_id: 'bot-reasoning', additional_messages: [user('denied')] }))
    expect(denied.events.map((e) => [e.event, (e.data as any).code])).toEqual([['error', 4101]])
    const err = await caught(c.chat.create({ bot_id: 'bot-reasoning', additional_messages: [user('denied')] }))
    expect(err).toBeInstanceOf(PermissionDeniedError)
    expect(err.code).toBe(4101)
  })

  it('chatflows: a bot_id outside the list is 4101; a listed bot_id or none runs', async () => {
    const c = client((await mint({ scope: botScope(['bot-echo']) })).access_token)
    const run = (bot_id?: string) => drain(c.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, additional_messages: [user('x')], ...(bot_id ? { bot_id } : {}) }))
    expect(((await run('bot-tool')).events[0]!.data as any).code).toBe(4101)
    expect((await run('bot-echo')).events.at(-1)?.event).toBe('done')
    expect((await run()).events.at(-1)?.event).toBe('done')
  })
})

describe('oauthTokenTtlSeconds', () => {
  it('tokens die after the cap even though expires_in announced the asked duration', async () => {
    const e = await startEmulator({ oauthApps: [{ appId: APP_ID, keyId: KEY_ID, publicKey: keys.publicKey }], oauthTokenTtlSeconds: 1 })
    try {
      const t = await getJWTToken({ baseURL: e.url, appId: APP_ID, aud: 'api.coze.cn', keyid: KEY_ID, privateKey: keys.privateKey })
      expect(t.expires_in).toBeGreaterThanOrEqual(now() + 899)
      const c = new CozeAPI({ token: t.access_token, baseURL: e.url })
      await expect(c.users.me()).resolves.toBeDefined()
      await sleep(1100)
      expect(await caught(c.users.me())).toBeInstanceOf(AuthenticationError)
    } finally {
      await e.close()
    }
  })

  it('addApp() registers an app at runtime; without apps every JWT is refused', async () => {
    const e = await startEmulator()
    try {
      const cfg = { baseURL: e.url, appId: '77', aud: 'api.coze.cn', keyid: 'k77', privateKey: other.privateKey }
      expect(await caught(getJWTToken(cfg))).toBeInstanceOf(AuthenticationError)
      e.oauth.addApp({ appId: '77', keyId: 'k77', publicKey: other.publicKey })
      await expect(getJWTToken(cfg)).resolves.toMatchObject({ token_type: 'Bearer' })
    } finally {
      await e.close()
    }
  })
})
