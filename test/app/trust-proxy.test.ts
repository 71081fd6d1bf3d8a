// Issue 18.6: TRUST_PROXY. A hop count works as trustProxy's number form documents (Fastify
// 5.12 alone turns it into "trust nothing", so every client behind the proxy shared one
// rate-limit bucket); `true` and hop counts warn at start; addresses trust only the proxy.
import { describe, expect, it } from 'vitest'
import { startStack } from '../helpers/stack.js'

const hit = (s: Awaited<ReturnType<typeof startStack>>, remoteAddress: string, xff: string) =>
  s.app.inject({ url: '/api/v1/config', remoteAddress, headers: { 'x-forwarded-for': xff } }).then((r) => r.statusCode)

describe('TRUST_PROXY', () => {
  it('a hop count (1): each client behind the proxy has its own bucket, and a forged leftmost entry changes nothing', async () => {
    const s = await startStack({ ENABLE_RATE_LIMIT: 'true', RATE_LIMIT_REQUESTS: '1', TRUST_PROXY: '1', SESSION_STORE: 'memory' })
    try {
      expect(await hit(s, '10.0.0.1', '203.0.113.1')).toBe(200)
      expect(await hit(s, '10.0.0.1', '203.0.113.2')).toBe(200)
      expect(await hit(s, '10.0.0.1', 'forged-1, 203.0.113.1')).toBe(429)
      expect(await hit(s, '10.0.0.1', '198.51.100.9, 203.0.113.1')).toBe(429)
      expect(s.logs.join('\n')).toContain('TRUST_PROXY=1 trusts the 1 nearest hop(s)')
    } finally { await s.close() }
  })

  it('a hop count (2): two proxies in a row', async () => {
    const s = await startStack({ ENABLE_RATE_LIMIT: 'true', RATE_LIMIT_REQUESTS: '1', TRUST_PROXY: '2', SESSION_STORE: 'memory' })
    try {
      expect(await hit(s, '10.0.0.1', '203.0.113.1, 10.0.0.2')).toBe(200)
      expect(await hit(s, '10.0.0.1', '203.0.113.2, 10.0.0.2')).toBe(200)
      expect(await hit(s, '10.0.0.1', '203.0.113.1, 10.0.0.2')).toBe(429)
    } finally { await s.close() }
  })

  it('an address: X-Forwarded-For is read only from that proxy', async () => {
    const s = await startStack({ ENABLE_RATE_LIMIT: 'true', RATE_LIMIT_REQUESTS: '1', TRUST_PROXY: '10.0.0.1', SESSION_STORE: 'memory' })
    try {
      expect(await hit(s, '10.0.0.1', '203.0.113.1')).toBe(200)
      expect(await hit(s, '10.0.0.1', '203.0.113.2')).toBe(200)
      // A client reaching the gateway directly cannot choose its IP by sending the header.
      expect(await hit(s, '192.0.2.50', '203.0.113.3')).toBe(200)
      expect(await hit(s, '192.0.2.50', '203.0.113.4')).toBe(429)
      expect(s.logs.join('\n')).not.toContain('TRUST_PROXY')
    } finally { await s.close() }
  })

  it('true: warned at start, naming the safer setting', async () => {
    const s = await startStack({ TRUST_PROXY: 'true', SESSION_STORE: 'memory' })
    try {
      const warning = s.logs.map((l) => JSON.parse(l)).find((l) => String(l.msg).startsWith('TRUST_PROXY=true'))
      expect(warning.level).toBe(40)
      expect(warning.msg).toContain('any client can choose its IP')
      expect(warning.msg).toContain('Set TRUST_PROXY to the address of your proxy')
    } finally { await s.close() }
  })
})
