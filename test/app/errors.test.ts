import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Fault } from '../../src/emulator/index.js'
import { parseSse, startStack, userMsg, type Stack } from '../helpers/stack.js'

const chat = (s: Stack, body: Record<string, unknown> = {}) =>
  s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', messages: [userMsg('hi')], ...body } })

describe('HTTP errors are envelopes with the right status', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ BODY_LIMIT_KB: '8' }) })
  afterAll(async () => { await s.close() })

  it('malformed JSON → 400', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/api/v1/chat', headers: { 'content-type': 'application/json' }, payload: '{"messages": [' })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ success: false, data: null, code: 'INVALID_JSON' })
    expect(res.json().message).toMatch(/JSON/)
  })

  it('unknown route → 404', async () => {
    const res = await s.app.inject('/api/v1/nope')
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ success: false, data: null })
    expect(res.json().message).toContain('/api/v1/nope')
  })

  it('wrong content type → 415', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/api/v1/chat', headers: { 'content-type': 'text/plain' }, payload: 'hello' })
    expect(res.statusCode).toBe(415)
    expect(res.json()).toMatchObject({ success: false, code: 'UNSUPPORTED_MEDIA_TYPE' })
  })

  it('body too large → 413', async () => {
    const res = await chat(s, { messages: [userMsg('x'.repeat(20_000))] })
    expect(res.statusCode).toBe(413)
    expect(res.json()).toMatchObject({ success: false, code: 'PAYLOAD_TOO_LARGE' })
  })

  it('echoes x-request-id, or makes one', async () => {
    const res = await s.app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123' } })
    expect(res.headers['x-request-id']).toBe('abc-123')
    const gen = await s.app.inject('/health')
    expect(gen.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('answers CORS preflight', async () => {
    const res = await s.app.inject({ method: 'OPTIONS', url: '/api/v1/chat', headers: { origin: 'http://example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } })
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('*')
    expect(String(res.headers['access-control-allow-methods'])).toContain('POST')
  })
})

describe('Coze failures follow the mapping table, with the logid', () => {
  let s: Stack
  // Timeouts well above a loaded CI machine's event gaps, well below the faults' delays.
  beforeAll(async () => { s = await startStack({ COZE_CONNECT_TIMEOUT_MS: '1000', COZE_IDLE_TIMEOUT_MS: '1000' }) })
  afterAll(async () => { await s.close() })
  afterEach(() => { s.emu.faults.clear() })

  const cases: Array<[string, Fault, number, string]> = [
    ['4100 token rejected', { kind: 'coze_error', code: 4100 }, 502, 'UPSTREAM_AUTH'],
    ['4101 wrong region/permission', { kind: 'coze_error', code: 4101 }, 502, 'UPSTREAM_AUTH'],
    ['4200 not found', { kind: 'coze_error', code: 4200 }, 404, 'UPSTREAM_NOT_FOUND'],
    ['4015 not published', { kind: 'coze_error', code: 4015 }, 404, 'UPSTREAM_NOT_FOUND'],
    ['4000 bad parameter', { kind: 'coze_error', code: 4000 }, 400, 'UPSTREAM_BAD_REQUEST'],
    ['4013 rate limited', { kind: 'coze_error', code: 4013 }, 429, 'UPSTREAM_RATE_LIMITED'],
    ['4016 conversation busy', { kind: 'coze_error', code: 4016 }, 409, 'CONVERSATION_BUSY'],
    ['6003 premium', { kind: 'coze_error', code: 6003 }, 402, 'PREMIUM_REQUIRED'],
    ['5000 internal', { kind: 'coze_error', code: 5000 }, 502, 'UPSTREAM_ERROR'],
    ['HTTP 429', { kind: 'http_status', status: 429 }, 429, 'UPSTREAM_RATE_LIMITED'],
    ['HTTP 500', { kind: 'http_status', status: 500 }, 502, 'UPSTREAM_ERROR'],
    ['HTTP 502', { kind: 'http_status', status: 502 }, 502, 'UPSTREAM_ERROR'],
    ['HTTP 503', { kind: 'http_status', status: 503 }, 502, 'UPSTREAM_ERROR'],
    ['connection reset', { kind: 'reset' }, 503, 'UPSTREAM_UNAVAILABLE'],
    ['no answer at all', { kind: 'hang' }, 504, 'UPSTREAM_TIMEOUT'],
    ['slow headers', { kind: 'latency', headersMs: 3000 }, 504, 'UPSTREAM_TIMEOUT']
  ]

  it.each(cases)('non-stream: %s → %i', async (_name, fault, status, code) => {
    s.emu.faults.inject(fault, { path: '/v3/chat' })
    const res = await chat(s)
    expect(res.statusCode).toBe(status)
    const body = res.json()
    expect(body).toMatchObject({ success: false, data: null, code })
    if (fault.kind === 'coze_error') {
      expect(body.coze_code).toBe(fault.code)
      expect(body.logid).toMatch(/^\d{14}/)
      expect(res.headers['x-coze-logid']).toBe(body.logid)
    }
    if (fault.kind === 'http_status') expect(body.logid).toMatch(/^\d{14}/)
  })

  it.each(cases)('stream: %s before the first frame → the same JSON status', async (_name, fault, status, code) => {
    s.emu.faults.inject(fault, { path: '/v3/chat' })
    const res = await chat(s, { stream: true })
    expect(res.statusCode).toBe(status)
    expect(res.headers['content-type']).toMatch(/application\/json/)
    expect(res.json()).toMatchObject({ success: false, code })
  })

  it('the 4100 message tells the operator what to check', async () => {
    s.emu.faults.inject({ kind: 'coze_error', code: 4100 }, { path: '/v3/chat' })
    const msg = (await chat(s)).json().message
    expect(msg).toContain('COZE_API_TOKEN')
    expect(msg).toContain('api.coze.cn')
  })

  it('an unreachable Coze → 503', async () => {
    const dead = await startStack({ COZE_API_BASE: 'http://127.0.0.1:9' })
    try {
      const res = await chat(dead)
      expect(res.statusCode).toBe(503)
      expect(res.json().code).toBe('UPSTREAM_UNAVAILABLE')
    } finally { await dead.close() }
  })

  const midStream: Array<[string, Fault, string, number | undefined]> = [
    ['a cut stream', { kind: 'truncate', afterDeltas: 2 }, 'UPSTREAM_TRUNCATED', undefined],
    ['event:error', { kind: 'stream_error', afterDeltas: 2, code: 5000, msg: 'boom' }, 'UPSTREAM_ERROR', 5000],
    ['chat.failed', { kind: 'chat_failed', afterDeltas: 2, code: 4013, msg: 'slow down' }, 'UPSTREAM_RATE_LIMITED', 4013],
    ['malformed data', { kind: 'malformed', afterDeltas: 2 }, 'UPSTREAM_ERROR', undefined],
    ['silence mid-stream', { kind: 'latency', deltaMs: 3000 }, 'UPSTREAM_TIMEOUT', undefined]
  ]

  it.each(midStream)('stream: %s after deltas → error frame with code and logid, then end; never chat_completed', async (_n, fault, code, cozeCode) => {
    s.emu.faults.inject(fault, { path: '/v3/chat' })
    const res = await chat(s, { stream: true })
    expect(res.statusCode).toBe(200)
    const frames = parseSse(res.body).filter((f) => f.type !== ':comment')
    expect(frames.map((f) => f.type)).not.toContain('chat_completed')
    expect(frames.at(-1)).toEqual({ type: 'end' })
    const err = frames.at(-2)!
    expect(err.type).toBe('error')
    expect(err.code).toBe(code)
    expect(typeof err.message).toBe('string')
    expect(err.logid).toMatch(/^\d{14}/)
    if (cozeCode) expect(err.coze_code).toBe(cozeCode)
    if (fault.kind !== 'latency') expect(frames.filter((f) => f.type === 'message_delta')).toHaveLength(2)
  })

  it.each(midStream)('non-stream: %s → an error status, never a partial success', async (_n, fault, code) => {
    s.emu.faults.inject(fault, { path: '/v3/chat' })
    const res = await chat(s)
    expect(res.statusCode).toBeGreaterThanOrEqual(400)
    expect(res.json()).toMatchObject({ success: false, code })
  })
})

describe('rate limiting', () => {
  it('429 with Retry-After and x-ratelimit headers after RATE_LIMIT_REQUESTS per window', async () => {
    const s = await startStack({ ENABLE_RATE_LIMIT: 'true', RATE_LIMIT_REQUESTS: '3', RATE_LIMIT_WINDOW: '60' })
    try {
      for (let i = 0; i < 3; i++) {
        const ok = await s.app.inject('/api/v1/config')
        expect(ok.statusCode).toBe(200)
        expect(ok.headers['x-ratelimit-limit']).toBe('3')
      }
      const res = await s.app.inject('/api/v1/config')
      expect(res.statusCode).toBe(429)
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0)
      expect(res.headers['x-ratelimit-remaining']).toBe('0')
      expect(res.json()).toMatchObject({ success: false, data: null, code: 'RATE_LIMITED' })
      // another client IP has its own budget
      const other = await s.app.inject({ url: '/api/v1/config', remoteAddress: '10.0.0.2' })
      expect(other.statusCode).toBe(200)
    } finally { await s.close() }
  })

  it('honours TRUST_PROXY: behind a proxy the client IP comes from X-Forwarded-For', async () => {
    const s = await startStack({ ENABLE_RATE_LIMIT: 'true', RATE_LIMIT_REQUESTS: '1', TRUST_PROXY: 'true' })
    try {
      const a = await s.app.inject({ url: '/api/v1/config', headers: { 'x-forwarded-for': '203.0.113.1' } })
      const b = await s.app.inject({ url: '/api/v1/config', headers: { 'x-forwarded-for': '203.0.113.2' } })
      const a2 = await s.app.inject({ url: '/api/v1/config', headers: { 'x-forwarded-for': '203.0.113.1' } })
      expect([a.statusCode, b.statusCode, a2.statusCode]).toEqual([200, 200, 429])
    } finally { await s.close() }
  })
})
