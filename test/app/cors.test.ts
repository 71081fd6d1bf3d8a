import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from '../helpers/stack.js'

const preflight = (s: Stack, url: string, method: string, origin = 'http://app.example') =>
  s.app.inject({ method: 'OPTIONS', url, headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type, authorization' } })

const corsHeaders = (headers: Record<string, unknown>) => Object.keys(headers).filter((h) => h.startsWith('access-control-'))

describe('CORS with the default CORS_ORIGINS=*', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack() })
  afterAll(async () => { await s.close() })

  it('allows in preflights every method the API uses, and lets the browser cache the answer', async () => {
    const spec = (await s.app.inject('/docs/json')).json()
    const used = new Set<string>()
    for (const item of Object.values(spec.paths) as Array<Record<string, unknown>>) for (const m of Object.keys(item)) used.add(m.toUpperCase())
    expect(used).toContain('DELETE')
    const res = await preflight(s, '/api/v1/sessions/s1?user_id=u1', 'DELETE')
    expect(res.statusCode).toBe(204)
    expect(res.headers['access-control-allow-origin']).toBe('*')
    const allowed = String(res.headers['access-control-allow-methods']).split(/,\s*/)
    for (const m of [...used, 'PUT', 'PATCH']) expect(allowed, m).toContain(m)
    expect(Number(res.headers['access-control-max-age'])).toBeGreaterThanOrEqual(600)
    expect(String(res.headers['access-control-allow-headers'])).toContain('authorization')
  })
})

describe('CORS with a CORS_ORIGINS list', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ CORS_ORIGINS: 'https://a.example, https://b.example/' }) })
  afterAll(async () => { await s.close() })

  it('answers a listed origin with that origin (a trailing slash in the list is fine)', async () => {
    for (const origin of ['https://a.example', 'https://b.example']) {
      const pre = await preflight(s, '/api/v1/chat', 'POST', origin)
      expect(pre.statusCode).toBe(204)
      expect(pre.headers['access-control-allow-origin']).toBe(origin)
      expect(String(pre.headers.vary)).toMatch(/origin/i)
      const res = await s.app.inject({ url: '/health', headers: { origin } })
      expect(res.headers['access-control-allow-origin']).toBe(origin)
      expect(String(res.headers['access-control-expose-headers'])).toContain('x-coze-logid')
    }
  })

  it('gives an unlisted origin no CORS header at all, preflight included', async () => {
    const pre = await preflight(s, '/api/v1/sessions/s1', 'DELETE', 'https://evil.example')
    expect(pre.statusCode).not.toBe(204)
    expect(corsHeaders(pre.headers)).toEqual([])
    const res = await s.app.inject({ url: '/health', headers: { origin: 'https://evil.example' } })
    expect(res.statusCode).toBe(200)
    expect(corsHeaders(res.headers)).toEqual([])
    // a request without Origin (curl, a server) still works, without CORS headers
    const plain = await s.app.inject('/health')
    expect(plain.statusCode).toBe(200)
    expect(corsHeaders(plain.headers)).toEqual([])
  })
})
