// Issue 18.4: bounded time for everything, on real sockets. A client gets
// HTTP_REQUEST_TIMEOUT_MS (UPLOAD_TIMEOUT_MS for uploads) to send its whole request; a
// response may stream longer. MAX_CONNECTIONS_PER_IP caps what one client holds open.
// Coze has COZE_REQUEST_TIMEOUT_MS to answer an upload once it is sent.
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSse, startStack, type Stack } from '../helpers/stack.js'

const HTTP_MS = 1000
const UPLOAD_MS = 2500
// How late an answer may come on a loaded 2-core machine (the check runs every 500 ms).
const SLACK_MS = 2500

interface Exchange { status: number, body: any, ms: number, closed: boolean }

type Step = string | number

function exchange (port: number, steps: Step[], opts: { localAddress?: string, waitMs?: number } = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const t0 = Date.now()
    let out = ''
    let settled = false
    const done = (closed: boolean) => {
      if (settled) return
      settled = true
      const head = out.slice(0, out.indexOf('\r\n\r\n'))
      const text = out.slice(out.indexOf('\r\n\r\n') + 4)
      let body: unknown = text
      try { body = JSON.parse(text) } catch { /* not JSON */ }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body, ms: Date.now() - t0, closed })
      sock.destroy()
    }
    const sock = net.connect({ port, host: '127.0.0.1', ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) }, async () => {
      for (const step of steps) {
        if (typeof step === 'number') await new Promise((r) => setTimeout(r, step))
        else if (!sock.destroyed) sock.write(step)
      }
    })
    sock.on('data', (d) => { out += String(d) })
    sock.on('error', () => {})
    sock.on('close', () => done(true))
    setTimeout(() => done(false), opts.waitMs ?? HTTP_MS * 2 + SLACK_MS * 2)
  })
}

const head = (path: string, length: number, type = 'application/json', extra = '') =>
  `POST ${path} HTTP/1.1\r\nHost: gw\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n${extra}\r\n`
const BODY = '{"user_id":"u1","messages":[{"role":"user","content":"hi"}]}'
const trickle = (text: string, everyMs: number): Step[] => [...text].flatMap((c) => [everyMs, c])
const PART = (bytes: string) => `--XX\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n${bytes}\r\n--XX--\r\n`

describe('bounded time for everything', () => {
  let s: Stack
  let port = 0
  beforeAll(async () => {
    s = await startStack({ HTTP_REQUEST_TIMEOUT_MS: String(HTTP_MS), UPLOAD_TIMEOUT_MS: String(UPLOAD_MS), COZE_REQUEST_TIMEOUT_MS: '1000', SESSION_STORE: 'memory' }, { slowDeltaMs: 400 })
    await s.app.listen({ port: 0, host: '127.0.0.1' })
    port = (s.app.server.address() as net.AddressInfo).port
  })
  afterAll(async () => { await s.close() })

  const slow: Array<[string, Step[], number, number, string]> = [
    ['headers, then the body withheld', [head('/api/v1/chat', BODY.length)], HTTP_MS, 400, 'INCOMPLETE_BODY'],
    ['a Content-Length longer than the body', [head('/api/v1/chat', BODY.length + 50) + BODY], HTTP_MS, 400, 'INCOMPLETE_BODY'],
    ['a body trickled one byte every 150 ms', [head('/api/v1/chat', BODY.length), ...trickle(BODY, 150)], HTTP_MS, 400, 'INCOMPLETE_BODY'],
    ['headers trickled, never finished', ['POST /api/v1/chat HTTP/1.1\r\n', ...Array.from({ length: 30 }, (_, i) => [200, `X-H${i}: 1\r\n`]).flat()], HTTP_MS, 408, 'REQUEST_TIMEOUT'],
    ['an upload whose body is withheld', [head('/api/v1/upload', 500, 'multipart/form-data; boundary=XX') + PART('hello').slice(0, 80)], UPLOAD_MS, 400, 'INCOMPLETE_BODY'],
    ['a transcription whose body is withheld', [head('/api/v1/audio/transcriptions', 500, 'multipart/form-data; boundary=XX') + PART('hello').slice(0, 80)], UPLOAD_MS, 400, 'INCOMPLETE_BODY'],
    ['a JSON body on a GET, withheld', [`GET /api/v1/sessions?user_id=u1 HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"a"`], HTTP_MS, 200, '']
  ]

  it.each(slow)('%s: answered by the deadline, then the connection is closed', async (_name, steps, deadline, status, code) => {
    const r = await exchange(port, steps)
    expect(r.status).toBe(status)
    if (code) {
      expect(r.body).toMatchObject({ success: false, data: null, code })
      expect(r.body.message).toMatch(deadline === UPLOAD_MS ? /UPLOAD_TIMEOUT_MS/ : /HTTP_REQUEST_TIMEOUT_MS/)
      expect(r.ms).toBeGreaterThanOrEqual(deadline - 50)
    }
    expect(r.closed).toBe(true)
    expect(r.ms).toBeLessThan(deadline + SLACK_MS)
  })

  it('the OpenAI transcription route: a withheld upload body is answered by UPLOAD_TIMEOUT_MS, in OpenAI\'s shape', async () => {
    const r = await exchange(port, [head('/v1/audio/transcriptions', 500, 'multipart/form-data; boundary=XX') + PART('hello').slice(0, 80)])
    expect(r.status).toBe(400)
    expect(r.body.error).toMatchObject({ code: 'incomplete_body', message: expect.stringContaining('UPLOAD_TIMEOUT_MS') })
    expect(r.ms).toBeGreaterThanOrEqual(UPLOAD_MS - 50)
    expect(r.ms).toBeLessThan(UPLOAD_MS + SLACK_MS)
    expect(r.closed).toBe(true)
  })

  it('a connection that sends nothing is closed after HTTP_REQUEST_TIMEOUT_MS', async () => {
    const r = await exchange(port, [])
    expect(r.closed).toBe(true)
    expect(r.ms).toBeLessThan(HTTP_MS + SLACK_MS)
  })

  it('an upload may take longer than HTTP_REQUEST_TIMEOUT_MS, up to UPLOAD_TIMEOUT_MS', async () => {
    const body = PART('0123456789')
    const cut = body.indexOf('0123')
    const r = await exchange(port, [head('/api/v1/upload', Buffer.byteLength(body), 'multipart/form-data; boundary=XX', 'Connection: close\r\n') + body.slice(0, cut), ...trickle(body.slice(cut), 80)])
    expect(r.ms).toBeGreaterThan(HTTP_MS)
    expect(r.status).toBe(200)
    expect(r.body.data).toMatchObject({ bytes: 10, file_name: 'a.txt' })
  })

  it('a response streams for longer than HTTP_REQUEST_TIMEOUT_MS', async () => {
    const body = JSON.stringify({ user_id: 'u1', bot_id: 'bot-slow', stream: true, messages: [{ role: 'user', content: 'one two three four five' }] })
    const r = await exchange(port, [head('/api/v1/chat', Buffer.byteLength(body), 'application/json', 'Connection: close\r\n') + body], { waitMs: 15_000 })
    expect(r.status).toBe(200)
    expect(r.ms).toBeGreaterThan(HTTP_MS * 2)
    const frames = parseSse(String(r.body).replace(/^[0-9a-f]+\r\n|\r\n[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, ''))
    expect(frames.map((f) => f.type)).toContain('chat_completed')
  })

  describe('Coze has COZE_REQUEST_TIMEOUT_MS to answer an upload once it is sent', () => {
    it('POST /api/v1/upload on a hung Coze → 504 UPSTREAM_TIMEOUT', async () => {
      s.emu.faults.inject({ kind: 'hang' }, { path: '/v1/files/upload', times: 1 })
      const form = new FormData()
      form.append('file', new Blob(['hello']), 'a.txt')
      const t0 = Date.now()
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/upload`, { method: 'POST', body: form })
      expect(res.status).toBe(504)
      expect(await res.json()).toMatchObject({ success: false, code: 'UPSTREAM_TIMEOUT', message: expect.stringContaining('COZE_REQUEST_TIMEOUT_MS') })
      expect(Date.now() - t0).toBeLessThan(1000 + SLACK_MS)
    })

    it.each([
      ['/api/v1/audio/transcriptions', (b: any) => expect(b).toMatchObject({ success: false, code: 'UPSTREAM_TIMEOUT', message: expect.stringContaining('COZE_REQUEST_TIMEOUT_MS') })],
      ['/v1/audio/transcriptions', (b: any) => expect(b.error).toMatchObject({ code: 'upstream_timeout', message: expect.stringContaining('COZE_REQUEST_TIMEOUT_MS') })]
    ])('POST %s on a hung Coze → 504', async (path, check) => {
      s.emu.faults.inject({ kind: 'hang' }, { path: '/v1/audio/transcriptions', times: 1 })
      const form = new FormData()
      form.append('file', new Blob(['RIFF audio bytes']), 'voice.wav')
      const t0 = Date.now()
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: form })
      expect(res.status).toBe(504)
      check(await res.json())
      expect(Date.now() - t0).toBeLessThan(1000 + SLACK_MS)
    })

    it('an inline image on /v1/chat/completions on a hung Coze → 504 upstream_timeout', async () => {
      s.emu.faults.inject({ kind: 'hang' }, { path: '/v1/files/upload', times: 1 })
      const t0 = Date.now()
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'text', text: 'what is it?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] })
      })
      expect(res.status).toBe(504)
      expect(((await res.json()) as { error: unknown }).error).toMatchObject({ type: 'upstream_error', code: 'upstream_timeout' })
      expect(Date.now() - t0).toBeLessThan(1000 + SLACK_MS)
    })
  })
})

describe('MAX_CONNECTIONS_PER_IP', () => {
  it('direct clients: connections past the cap are closed at once; other clients are still served', async () => {
    const s = await startStack({ MAX_CONNECTIONS_PER_IP: '3', HTTP_REQUEST_TIMEOUT_MS: '5000', SESSION_STORE: 'memory' })
    await s.app.listen({ port: 0, host: '0.0.0.0' })
    const port = (s.app.server.address() as net.AddressInfo).port
    try {
      // A flood from one address: slow bodies that would hold their connections.
      const flood = Array.from({ length: 8 }, () => exchange(port, [head('/api/v1/chat', 100)], { localAddress: '127.0.0.2', waitMs: 1500 }))
      const results = await Promise.all(flood)
      expect(results.filter((r) => r.closed && r.status === 0)).toHaveLength(5)
      expect(results.filter((r) => !r.closed)).toHaveLength(3)
      // Meanwhile another address is served.
      const health = await exchange(port, ['GET /health HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n'], { localAddress: '127.0.0.3' })
      expect(health.status).toBe(200)
    } finally { await s.close() }
  })

  it('behind a trusted proxy: requests in flight are counted per forwarded client IP, and the one past the cap gets 429', async () => {
    const s = await startStack({ MAX_CONNECTIONS_PER_IP: '2', TRUST_PROXY: '127.0.0.1', HTTP_REQUEST_TIMEOUT_MS: '3000', SESSION_STORE: 'memory' })
    await s.app.listen({ port: 0, host: '127.0.0.1' })
    const port = (s.app.server.address() as net.AddressInfo).port
    const from = (ip: string) => `X-Forwarded-For: ${ip}\r\n`
    try {
      const held = [1, 2].map(() => exchange(port, [head('/api/v1/chat', 100, 'application/json', from('203.0.113.7'))], { waitMs: 500 }))
      await new Promise((r) => setTimeout(r, 200))
      const third = await exchange(port, [`GET /health HTTP/1.1\r\nHost: gw\r\n${from('203.0.113.7')}Connection: close\r\n\r\n`])
      expect(third.status).toBe(429)
      expect(third.body).toMatchObject({ success: false, code: 'TOO_MANY_CONNECTIONS', message: expect.stringContaining('MAX_CONNECTIONS_PER_IP') })
      const other = await exchange(port, [`GET /health HTTP/1.1\r\nHost: gw\r\n${from('198.51.100.1')}Connection: close\r\n\r\n`])
      expect(other.status).toBe(200)
      await Promise.all(held)
      // Once those requests are gone, the client is served again.
      await new Promise((r) => setTimeout(r, 100))
      const again = await exchange(port, [`GET /health HTTP/1.1\r\nHost: gw\r\n${from('203.0.113.7')}Connection: close\r\n\r\n`])
      expect(again.status).toBe(200)
    } finally { await s.close() }
  })
})
