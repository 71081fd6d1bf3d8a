// Gateway API keys: every row of the key-failure table, on each surface (/api/v1 in the
// envelope, /v1 through the official openai SDK, /chat as {detail}); the raw key in no
// log line and no answer; what /api/v1/config says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import OpenAI, { APIError } from 'openai'
import { startStack, DEFAULT_BOT, userMsg, type Stack } from '../helpers/stack.js'
import { writeKeysFile, type KeysFile, type TestKey } from '../helpers/keys.js'

type Surface = 'api' | 'openai' | 'chatbot'
const SURFACES: Surface[] = ['api', 'openai', 'chatbot']
const ALL = ['chat', 'sessions', 'files', 'workflows', 'openai', 'account', 'vend'] as TestKey['scopes']
const raw = (id: string) => `cgw_test_${id}_${'k'.repeat(24)}`

const KEYS: TestKey[] = [
  { id: 'full', raw: raw('full'), scopes: ALL, bots: ['*'], workflows: ['*'] },
  { id: 'expired', raw: raw('expired'), scopes: ALL, bots: ['*'], expires_at: '2001-01-01T00:00:00Z' },
  { id: 'off', name: 'switched off', raw: raw('off'), scopes: ALL, bots: ['*'], disabled: true },
  { id: 'files-only', raw: raw('files-only'), scopes: ['files'], bots: ['*'] },
  { id: 'narrow', raw: raw('narrow'), scopes: ALL, bots: ['bot-echo'] },
  ...SURFACES.flatMap((s): TestKey[] => [
    { id: `rpm-${s}`, raw: raw(`rpm-${s}`), scopes: ALL, bots: ['*'], rpm: 2 },
    { id: `budget-${s}`, raw: raw(`budget-${s}`), scopes: ALL, bots: ['*'], daily_tokens: 1 },
    { id: `streams-${s}`, raw: raw(`streams-${s}`), scopes: ALL, bots: ['*'], max_streams: 1 }
  ])
]
const key = (id: string) => KEYS.find((k) => k.id === id)!.raw

interface Outcome { status: number, code: string | null | undefined, message: string, headers: Headers }

describe('gateway API keys: the key-failure table on every surface', () => {
  let s: Stack
  let url: string
  let file: KeysFile
  const bodies: string[] = []
  const headerDumps: string[] = []

  beforeAll(async () => {
    file = writeKeysFile(KEYS)
    s = await startStack({ GATEWAY_KEYS_FILE: file.path, LOG_LEVEL: 'trace' }, { slowDeltaMs: 150 })
    url = await s.app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => { await s.close(); file.close() })

  const sdk = (apiKey: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 })

  /** One chat on a surface; the error (if any) normalized to status, code and message. */
  async function attempt (surface: Surface, apiKey: string | undefined, opts: { bot?: string, stream?: boolean } = {}): Promise<Outcome> {
    const bot = opts.bot ?? DEFAULT_BOT
    if (surface === 'openai' && apiKey !== undefined) {
      try {
        const r = opts.stream
          ? await sdk(apiKey).chat.completions.create({ model: bot, messages: [userMsg('hi')], stream: true })
          : await sdk(apiKey).chat.completions.create({ model: bot, messages: [userMsg('hi')] })
        if (opts.stream) for await (const _ of r as AsyncIterable<unknown>) { /* drain */ }
        return { status: 200, code: undefined, message: '', headers: new Headers() }
      } catch (err) {
        if (!(err instanceof APIError)) throw err
        bodies.push(JSON.stringify(err.error))
        return { status: err.status!, code: err.code, message: err.message, headers: err.headers as Headers }
      }
    }
    const [path, body] = surface === 'api'
      ? ['/api/v1/chat', { user_id: 'u', bot_id: bot, messages: [userMsg('hi')], stream: opts.stream }]
      : surface === 'chatbot'
        ? [opts.stream ? '/chat/stream' : '/chat', { user_id: 'u', bot_id: bot, message: 'hi' }]
        : ['/v1/chat/completions', { model: bot, messages: [userMsg('hi')], stream: opts.stream }]
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey ? { 'x-api-key': apiKey } : {}) },
      body: JSON.stringify(body)
    })
    const text = await res.text()
    bodies.push(text)
    headerDumps.push(JSON.stringify([...res.headers]))
    if (res.ok) return { status: res.status, code: undefined, message: '', headers: res.headers }
    const json = JSON.parse(text)
    if (surface === 'api') {
      expect(json).toMatchObject({ success: false, data: null })
      return { status: res.status, code: json.code, message: json.message, headers: res.headers }
    }
    if (surface === 'chatbot') {
      expect(Object.keys(json)).toEqual(['detail'])
      return { status: res.status, code: undefined, message: json.detail, headers: res.headers }
    }
    return { status: res.status, code: json.error.code, message: json.error.message, headers: res.headers }
  }

  const expectCode = (surface: Surface, o: Outcome, gateway: string, openai: string) => {
    if (surface === 'api') expect(o.code).toBe(gateway)
    if (surface === 'openai') expect(o.code).toBe(openai)
  }

  it.each(SURFACES)('%s: no key, or an unknown key → 401 UNAUTHORIZED with WWW-Authenticate: Bearer', async (surface) => {
    // (the openai SDK refuses to start without an apiKey: the keyless call is a plain fetch)
    for (const apiKey of [undefined, 'cgw_not_a_key_at_all_0000000000000000']) {
      const o = await attempt(surface, apiKey)
      expect(o.status).toBe(401)
      expect(o.headers.get('www-authenticate')).toBe('Bearer')
      expectCode(surface, o, 'UNAUTHORIZED', 'invalid_api_key')
      expect(o.message).toMatch(apiKey ? /API key is not valid/ : /API key is required/)
    }
  })

  it.each(SURFACES)('%s: an expired or disabled key → 401 UNAUTHORIZED that says which', async (surface) => {
    const expired = await attempt(surface, key('expired'))
    expect(expired.status).toBe(401)
    expectCode(surface, expired, 'UNAUTHORIZED', 'invalid_api_key')
    expect(expired.message).toMatch(/"expired" expired at 2001-01-01T00:00:00\.000Z/)
    const disabled = await attempt(surface, key('off'))
    expect(disabled.status).toBe(401)
    expectCode(surface, disabled, 'UNAUTHORIZED', 'invalid_api_key')
    expect(disabled.message).toMatch(/"switched off" is disabled/)
  })

  it.each(SURFACES)('%s: a missing scope, or a bot outside the key\'s list → 403 FORBIDDEN naming what, before Coze', async (surface) => {
    const before = s.emu.requests.length
    const scope = await attempt(surface, key('files-only'))
    expect(scope.status).toBe(403)
    expectCode(surface, scope, 'FORBIDDEN', 'permission_denied')
    expect(scope.message).toContain(`does not have the "${surface === 'openai' ? 'openai' : 'chat'}" scope`)
    const bot = await attempt(surface, key('narrow'))
    expect(bot.status).toBe(403)
    expectCode(surface, bot, 'FORBIDDEN', 'permission_denied')
    expect(bot.message).toContain(`The bot ${DEFAULT_BOT} is not allowed: it is not in the bots of the API key "narrow".`)
    expect(s.emu.requests.length).toBe(before)
    // the bot it lists works
    expect((await attempt(surface, key('narrow'), { bot: 'bot-echo' })).status).toBe(200)
  })

  it.each(SURFACES)('%s: over rpm → 429 RATE_LIMITED with Retry-After', async (surface) => {
    expect((await attempt(surface, key(`rpm-${surface}`))).status).toBe(200)
    expect((await attempt(surface, key(`rpm-${surface}`))).status).toBe(200)
    const over = await attempt(surface, key(`rpm-${surface}`))
    expect(over.status).toBe(429)
    expectCode(surface, over, 'RATE_LIMITED', 'rate_limit_exceeded')
    expect(over.message).toMatch(/2 requests per minute/)
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0)
    // another key is not affected
    expect((await attempt(surface, key('full'))).status).toBe(200)
  })

  it.each(SURFACES)('%s: over daily_tokens → 429 QUOTA_EXCEEDED', async (surface) => {
    expect((await attempt(surface, key(`budget-${surface}`))).status).toBe(200)
    const before = s.emu.requests.length
    const over = await attempt(surface, key(`budget-${surface}`))
    expect(over.status).toBe(429)
    expectCode(surface, over, 'QUOTA_EXCEEDED', 'insufficient_quota')
    expect(over.message).toMatch(/daily budget of 1 Coze tokens.*midnight UTC/)
    expect(s.emu.requests.length).toBe(before)
  })

  it.each(SURFACES)('%s: over max_streams → 429 TOO_MANY_STREAMS; the slot is free again when the stream ends', async (surface) => {
    const k = key(`streams-${surface}`)
    const res = await fetch(`${url}${surface === 'api' ? '/api/v1/chat' : surface === 'chatbot' ? '/chat/stream' : '/v1/chat/completions'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${k}` },
      body: JSON.stringify({ user_id: 'u', bot_id: 'bot-slow', model: 'bot-slow', message: 'one two three', messages: [userMsg('one two three')], stream: true })
    })
    expect(res.status).toBe(200)
    const second = await attempt(surface, k, { stream: true })
    expect(second.status).toBe(429)
    expectCode(surface, second, 'TOO_MANY_STREAMS', 'too_many_streams')
    expect(second.message).toMatch(/already has 1 open stream/)
    // a non-stream chat is not a stream
    expect((await attempt(surface, k)).status).toBe(200)
    await res.text()
    expect((await attempt(surface, k, { stream: true })).status).toBe(200)
  })

  it('the key may come as Authorization: Bearer or x-api-key; public routes need none', async () => {
    for (const headers of [{ authorization: `Bearer ${key('full')}` }, { 'x-api-key': key('full') }]) {
      expect((await s.app.inject({ url: '/api/v1/sessions?user_id=u', headers })).statusCode).toBe(200)
    }
    for (const path of ['/health', '/', '/docs', '/docs/json']) {
      const r = await s.app.inject(path)
      expect(r.statusCode, path).toBe(200)
    }
    expect((await s.app.inject('/api/v1/config')).statusCode).toBe(401)
  })

  it('/api/v1/config (account scope) reports the auth mode and the number of keys, never a key or a hash', async () => {
    const r = await s.app.inject({ url: '/api/v1/config', headers: { authorization: `Bearer ${key('full')}` } })
    expect(r.statusCode).toBe(200)
    expect(r.json().data.auth).toEqual({ mode: 'keys', keys: KEYS.length, publishable_keys: 0, allowed_bot_ids: null, allowed_workflow_ids: null, account_routes: true })
    expect(r.json().data.features.api_keys).toBe(true)
    bodies.push(r.body)
  })

  it('no raw key, and no key hash, in any answer or log line (log level trace); the log names the key id', async () => {
    const { hashKey } = await import('../../src/access/keys.js')
    const secrets = KEYS.flatMap((k) => [k.raw, hashKey(k.raw)])
    expect(bodies.length).toBeGreaterThan(30)
    for (const text of [...bodies, ...headerDumps, ...s.logs]) for (const secret of secrets) expect(text).not.toContain(secret)
    const lines = s.logs.map((l) => JSON.parse(l) as { msg?: string, key?: string, statusCode?: number })
    expect(lines.some((l) => l.msg === 'request' && l.key === 'full')).toBe(true)
  })
})
