// The security headers: helmet's, computed once per policy, on every answer (404s included),
// exactly what helmet's own middleware writes; a route may override them or turn them off.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import helmet from 'helmet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import securityHeaders from '../../src/plugins/security-headers.js'
import { startStack, type Stack } from '../helpers/stack.js'

/** What helmet's middleware itself sends for `options`, on a real response. */
async function helmetSends (options: Parameters<typeof helmet>[0]): Promise<Record<string, string | string[] | undefined>> {
  const mw = helmet(options)
  const server = http.createServer((req, res) => { mw(req, res, () => res.end('x')) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    return Object.fromEntries([...res.headers].filter(([k]) => !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(k)))
  } finally {
    server.close()
  }
}

describe('security headers', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ SESSION_STORE: 'memory' }) })
  afterAll(async () => { await s.close() })

  it('every answer carries exactly the headers helmet writes for the gateway\'s policy, a 404 too', async () => {
    const expected = await helmetSends({
      contentSecurityPolicy: { useDefaults: true, directives: { 'img-src': ["'self'", 'data:', 'https://validator.swagger.io'], 'upgrade-insecure-requests': null } },
      strictTransportSecurity: { maxAge: 15_552_000, includeSubDomains: false }
    })
    expect(expected['content-security-policy']).toContain('https://validator.swagger.io')
    expect(expected['content-security-policy']).not.toContain('upgrade-insecure-requests')
    for (const url of ['/health', '/api/v1/config', '/no/such/route']) {
      const res = await s.app.inject(url)
      for (const [k, v] of Object.entries(expected)) expect(res.headers[k], `${url} ${k}`).toBe(v)
      expect(res.headers['x-powered-by']).toBeUndefined()
    }
  })

  it('a route can set its own policy or none', async () => {
    const app = Fastify()
    await app.register(securityHeaders)
    app.get('/default', async () => 'd')
    app.get('/own', { helmet: { frameguard: { action: 'deny' } } }, async () => 'o')
    app.get('/none', { helmet: false }, async () => 'n')
    await app.ready()
    expect((await app.inject('/default')).headers['x-frame-options']).toBe('SAMEORIGIN')
    const own = await app.inject('/own')
    expect(own.headers['x-frame-options']).toBe('DENY')
    expect(own.headers['content-security-policy']).toContain('validator.swagger.io')
    const none = await app.inject('/none')
    expect(none.headers['x-frame-options']).toBeUndefined()
    expect(none.headers['content-security-policy']).toBeUndefined()
    await app.close()
  })
})
