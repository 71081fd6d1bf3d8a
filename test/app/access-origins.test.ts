// Origins enforced by the server (CORS_ORIGINS), publishable keys for browser pages,
// security headers that keep /docs working, and the warning when the gateway is open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, DEFAULT_BOT, userMsg, type Stack } from '../helpers/stack.js'
import { writeKeysFile, type KeysFile } from '../helpers/keys.js'

const SITE = 'https://app.example.com'
const EVIL = 'https://evil.example'
const chatBody = { user_id: 'u', messages: [userMsg('hi')] }

function multipart (origin: string) {
  const boundary = '----gwtest'
  const payload = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--${boundary}--\r\n`
  return { method: 'POST' as const, url: '/api/v1/upload', payload, headers: { origin, 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

describe('CORS_ORIGINS is enforced by the server, not only by the browser', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ CORS_ORIGINS: `${SITE},https://admin.example.com` }) })
  afterAll(async () => { await s.close() })

  it('a chat or an upload from an unlisted Origin (no preflight needed) is refused with 403, before Coze', async () => {
    const before = s.emu.requests.length
    const chat = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: chatBody, headers: { origin: EVIL } })
    expect(chat.statusCode).toBe(403)
    expect(chat.json()).toMatchObject({ success: false, code: 'FORBIDDEN' })
    expect(chat.json().message).toMatch(/^origin not allowed/)
    expect(chat.headers['access-control-allow-origin']).toBeUndefined()
    const upload = await s.app.inject(multipart(EVIL))
    expect(upload.statusCode).toBe(403)
    expect(upload.json().code).toBe('FORBIDDEN')
    expect(s.emu.requests.length).toBe(before)
  })

  it('each surface answers in its own format', async () => {
    const simple = await s.app.inject({ method: 'POST', url: '/chat', payload: { message: 'hi' }, headers: { origin: EVIL } })
    expect(simple.statusCode).toBe(403)
    expect(simple.json()).toEqual({ detail: expect.stringMatching(/^origin not allowed/) })
    const openai = await s.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { messages: [userMsg('hi')] }, headers: { origin: EVIL } })
    expect(openai.statusCode).toBe(403)
    expect(openai.json().error).toMatchObject({ code: 'permission_denied', message: expect.stringMatching(/^origin not allowed/) })
  })

  it('a listed Origin, the gateway\'s own origin (Swagger UI) and no Origin at all (curl, servers) are served', async () => {
    const listed = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: chatBody, headers: { origin: SITE } })
    expect(listed.statusCode).toBe(200)
    expect(listed.headers['access-control-allow-origin']).toBe(SITE)
    expect((await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: chatBody, headers: { origin: 'http://gw.internal:2026', host: 'gw.internal:2026' } })).statusCode).toBe(200)
    expect((await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: chatBody })).statusCode).toBe(200)
    expect((await s.app.inject(multipart(SITE))).statusCode).toBe(200)
  })

  it('public routes answer any origin (nothing to spend there)', async () => {
    expect((await s.app.inject({ url: '/health', headers: { origin: EVIL } })).statusCode).toBe(200)
  })
})

describe('publishable keys: accepted only from their listed origins, rpm per client IP', () => {
  const PUB = 'cgw_pub_for_the_website_pppppppppppppppppppp'
  let s: Stack
  let file: KeysFile
  beforeAll(async () => {
    file = writeKeysFile([{ id: 'web', raw: PUB, scopes: ['chat'], bots: [DEFAULT_BOT], rpm: 2, origins: ['https://www.example.com'] }])
    s = await startStack({ GATEWAY_KEYS_FILE: file.path, TRUST_PROXY: 'true' })
  })
  afterAll(async () => { await s.close(); file.close() })

  const chat = (headers: Record<string, string>) =>
    s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: chatBody, headers: { authorization: `Bearer ${PUB}`, ...headers } })

  it('from a listed Origin: served; from an unlisted one or with no Origin: 403 origin not allowed', async () => {
    expect((await chat({ origin: 'https://www.example.com', 'x-forwarded-for': '10.9.9.9' })).statusCode).toBe(200)
    const before = s.emu.requests.length
    for (const headers of [{ origin: 'https://copycat.example' }, {}] as Array<Record<string, string>>) {
      const r = await chat(headers)
      expect(r.statusCode).toBe(403)
      expect(r.json()).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/^origin not allowed: the API key "web" is a publishable key/) })
    }
    expect(s.emu.requests.length).toBe(before)
  })

  it('its narrow policy holds: another bot or a route outside its scopes is 403', async () => {
    const other = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { ...chatBody, bot_id: 'bot-echo' }, headers: { authorization: `Bearer ${PUB}`, origin: 'https://www.example.com' } })
    expect(other.statusCode).toBe(403)
    const account = await s.app.inject({ url: '/api/v1/user/info', headers: { authorization: `Bearer ${PUB}`, origin: 'https://www.example.com' } })
    expect(account.statusCode).toBe(403)
    expect(account.json().message).toMatch(/"account" scope/)
  })

  it('rpm counts per end user (client IP, through TRUST_PROXY), not for the whole site', async () => {
    const from = (ip: string) => chat({ origin: 'https://www.example.com', 'x-forwarded-for': ip })
    expect((await from('203.0.113.1')).statusCode).toBe(200)
    expect((await from('203.0.113.1')).statusCode).toBe(200)
    const over = await from('203.0.113.1')
    expect(over.statusCode).toBe(429)
    expect(over.json()).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/per client IP/) })
    expect((await from('203.0.113.2')).statusCode).toBe(200)
  })
})

describe('security headers (@fastify/helmet) that keep /docs working', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack() })
  afterAll(async () => { await s.close() })

  it('/docs and its scripts are served under a CSP that allows them; API answers carry the headers too', async () => {
    const page = await s.app.inject('/docs/')
    expect(page.statusCode).toBe(200)
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("default-src 'self'")
    expect(csp).not.toContain('upgrade-insecure-requests')
    for (const src of [...page.body.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]!)) {
      expect(src.startsWith('http')).toBe(false) // same origin: allowed by script-src 'self'
      const js = await s.app.inject(new URL(src, 'http://localhost/docs/').pathname)
      expect(js.statusCode, src).toBe(200)
    }
    expect(page.body).not.toMatch(/<script>(?!\s*<\/script>)/) // no inline script to be blocked
    const api = await s.app.inject('/health')
    expect(api.headers['x-content-type-options']).toBe('nosniff')
    expect(api.headers['x-frame-options']).toBe('SAMEORIGIN')
    expect(api.headers['content-security-policy']).toBeDefined()
  })
})

describe('the open-gateway warning at start', () => {
  const WARNING = 'anyone who can reach this port can spend your Coze token'

  it('is logged once when listening on a non-loopback address with no keys and CORS_ORIGINS=*', async () => {
    const s = await startStack()
    try {
      await s.app.listen({ host: '0.0.0.0', port: 0 })
      const lines = s.logs.filter((l) => l.includes(WARNING))
      expect(lines).toHaveLength(1)
      expect(JSON.parse(lines[0]!).level).toBe(40)
    } finally { await s.close() }
  })

  it('is not logged on loopback, with keys, or with CORS_ORIGINS set', async () => {
    const file = writeKeysFile([{ id: 'k', raw: 'cgw_some_key_kkkkkkkkkkkkkkkkkkkkkkkkkk', scopes: ['chat'] }])
    try {
      for (const [env, host] of [[{}, '127.0.0.1'], [{ GATEWAY_KEYS_FILE: file.path }, '0.0.0.0'], [{ CORS_ORIGINS: SITE }, '0.0.0.0']] as const) {
        const s = await startStack(env)
        try {
          await s.app.listen({ host, port: 0 })
          expect(s.logs.some((l) => l.includes(WARNING))).toBe(false)
        } finally { await s.close() }
      }
    } finally { file.close() }
  })
})
