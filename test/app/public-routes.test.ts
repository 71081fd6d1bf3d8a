// Probes, the status page and the docs are outside the rate limiter; /health is quiet in the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from '../helpers/stack.js'

describe('health and docs are not rate-limited', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ ENABLE_RATE_LIMIT: 'true', RATE_LIMIT_REQUESTS: '5', RATE_LIMIT_WINDOW: '60' }) })
  afterAll(async () => { await s.close() })

  it('105 calls in a row to /health, /, /docs and /docs/json are all answered, while the API gets 429 past the limit', async () => {
    for (const url of ['/health', '/', '/docs/json', '/docs', '/docs/static/index.html']) {
      const codes = new Set<number>()
      for (let i = 0; i < 105; i++) codes.add((await s.app.inject(url)).statusCode)
      expect([...codes].every((c) => c === 200 || c === 302), `${url}: ${[...codes]}`).toBe(true)
    }
    const api: number[] = []
    for (let i = 0; i < 7; i++) api.push((await s.app.inject('/api/v1/config')).statusCode)
    expect(api.slice(0, 5)).toEqual([200, 200, 200, 200, 200])
    expect(api.slice(5)).toEqual([429, 429])
    // the probes did not spend the API budget, and the API limit does not block them
    expect((await s.app.inject('/health')).statusCode).toBe(200)
    expect((await s.app.inject('/health')).headers['x-ratelimit-limit']).toBeUndefined()
  })
})

describe('successful /health probes are logged at debug', () => {
  it('LOG_LEVEL=info: no line per probe, but one per API request', async () => {
    const s = await startStack({ LOG_LEVEL: 'info' })
    try {
      for (let i = 0; i < 3; i++) await s.app.inject('/health')
      await s.app.inject('/api/v1/config')
      const lines = s.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request')
      expect(lines.map((l) => l.url)).toEqual(['/api/v1/config'])
    } finally { await s.close() }
  })

  it('LOG_LEVEL=debug: the probe lines are there, at debug', async () => {
    const s = await startStack({ LOG_LEVEL: 'debug' })
    try {
      await s.app.inject('/health?probe=lb')
      const line = s.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.url === '/health?probe=lb')
      expect(line?.level).toBe(20)
      expect(line?.statusCode).toBe(200)
    } finally { await s.close() }
  })
})
