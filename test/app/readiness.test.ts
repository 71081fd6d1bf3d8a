// GET /ready, the readiness probe: 200 when the instance may take traffic; 503 while it
// starts or stops, while its session store is unreachable (a real redis-server stopped
// and started again; a sqlite folder removed), and after Coze refused the token.
// GET /health stays 200 all along.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Readiness } from '../../src/readiness.js'
import { UpstreamHealth } from '../../src/upstream-health.js'
import { MemorySessionStore } from '../../src/sessions/memory-store.js'
import { errors } from '../../src/errors.js'
import { COZE_CODE_RULES } from '../../src/coze/errors.js'
import { GatewayError } from '../../src/errors.js'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'
import { skipRedisTests, startRedis, type TestRedis } from '../helpers/redis.js'
import { scrape } from '../helpers/prometheus.js'

const ready = async (s: Stack) => {
  const r = await s.app.inject({ url: '/ready' })
  return { status: r.statusCode, body: r.json() }
}

/** Polls /ready until it answers `status` (the store check is cached for half a second). */
async function waitReady (s: Stack, status: number, ms = 15_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const r = await ready(s)
    if (r.status === status || Date.now() > deadline) return r
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('GET /ready', () => {
  let s: Stack
  let dir: string
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ready-'))
    s = await startStack({ SESSION_DB_PATH: path.join(dir, 'sessions.db'), HEALTH_CHECK_INTERVAL_MS: '1000' })
  })
  afterAll(async () => {
    await s.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('200 with every check ok (the token "unknown" until a call told)', async () => {
    const r = await ready(s)
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ success: true, status: 'ready', data: { status: 'ready', checks: { lifecycle: 'running', session_store: 'ok' } } })
    expect(['ok', 'unknown']).toContain(r.body.checks.coze_token)
  })

  it('503 after Coze refused the token, /health still 200; back to 200 once the token works again', async () => {
    s.emu.tokens.delete(s.emu.token)
    try {
      const chat = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', messages: [userMsg('hi')] } })
      expect(chat.json().code).toBe('UPSTREAM_AUTH')
      const r = await ready(s)
      expect(r.status).toBe(503)
      expect(r.body).toMatchObject({ success: false, status: 'not_ready', checks: { coze_token: 'refused', session_store: 'ok', lifecycle: 'running' } })
      expect(r.body.message).toMatch(/COZE_API_TOKEN/)
      expect(r.body.message).not.toContain(s.emu.token)
      const health = await s.app.inject({ url: '/health' })
      expect(health.statusCode).toBe(200)
      expect(health.json().status).toBe('degraded')
    } finally {
      s.emu.tokens.add(s.emu.token)
    }
    // /ready starts the background check once HEALTH_CHECK_INTERVAL_MS has passed: no traffic is needed
    const back = await waitReady(s, 200, 10_000)
    expect(back.status).toBe(200)
    expect(back.body.checks.coze_token).toBe('ok')
  })

  it('503 when the sqlite file can no longer be written (its folder is gone), counted as a store error', async () => {
    rmSync(dir, { recursive: true, force: true })
    const r = await waitReady(s, 503, 5000)
    expect(r.status).toBe(503)
    expect(r.body.checks.session_store).toBe('unreachable')
    expect(r.body.message).toMatch(/sqlite session store is unreachable/)
    expect((await s.app.inject({ url: '/health' })).statusCode).toBe(200)
    const m = await scrape(s.app)
    expect(m.value('coze_gateway_session_store_errors_total', { store: 'sqlite', op: 'ping' })).toBeGreaterThanOrEqual(1)
  })

  it('starting and stopping: 503 outside the running state; the app is stopping once close() began', async () => {
    const readiness = new Readiness(new MemorySessionStore(), new UpstreamHealth({} as never, 60_000), () => [])
    expect(await readiness.check()).toMatchObject({ ready: false, checks: { lifecycle: 'starting' } })
    expect((await readiness.check()).message).toMatch(/starting/)
    readiness.lifecycle = 'running'
    expect(await readiness.check()).toMatchObject({ ready: true, message: 'ready' })
    readiness.lifecycle = 'stopping'
    expect((await readiness.check()).message).toMatch(/shutting down/)

    const other = await startStack()
    expect(other.app.readiness.lifecycle).toBe('running')
    await other.close()
    expect(other.app.readiness.lifecycle).toBe('stopping')
  })

  it('only the token refusal of Coze counts, not Coze being unreachable or another error', () => {
    const h = new UpstreamHealth({} as never, 60_000)
    h.report(new GatewayError(503, 'UPSTREAM_UNAVAILABLE', 'down'))
    expect(h.tokenRefused).toBe(false)
    h.report(new GatewayError(COZE_CODE_RULES[4100]!.status, COZE_CODE_RULES[4100]!.code, 'refused', { cozeCode: 4100 }))
    expect(h.tokenRefused).toBe(true)
    h.report(errors.upstreamError('other'))
    expect(h.tokenRefused).toBe(true)
    h.report()
    expect(h.tokenRefused).toBe(false)
  })
})

describe.skipIf(skipRedisTests)('GET /ready with SESSION_STORE=redis', () => {
  let redis: TestRedis
  let s: Stack
  beforeAll(async () => {
    redis = await startRedis()
    s = await startStack({ SESSION_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: `ready-${process.pid}:` })
  })
  afterAll(async () => {
    await s?.close()
    await redis?.close()
  })

  it('turns 503 when the Redis is stopped, and 200 again when it is back', async () => {
    expect((await waitReady(s, 200)).status).toBe(200)
    const chat = () => s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', session_id: 'redis-ready', messages: [userMsg('hi')] } })
    expect((await chat()).statusCode).toBe(200)

    await redis.stop()
    const down = await waitReady(s, 503)
    expect(down.status).toBe(503)
    expect(down.body.checks).toMatchObject({ session_store: 'unreachable', lifecycle: 'running' })
    expect(down.body.message).toMatch(/redis session store is unreachable/)
    expect((await s.app.inject({ url: '/health' })).statusCode).toBe(200)
    const failed = await chat()
    expect(failed.statusCode).toBe(503)
    expect(failed.json().code).toBe('SESSION_STORE_UNAVAILABLE')
    const m = await scrape(s.app)
    expect(m.value('coze_gateway_session_store_errors_total', { store: 'redis', op: 'ping' })).toBeGreaterThanOrEqual(1)
    expect(m.value('coze_gateway_session_store_errors_total', { store: 'redis', op: 'get' })).toBeGreaterThanOrEqual(1)

    await redis.start()
    const up = await waitReady(s, 200)
    expect(up.status).toBe(200)
    expect(up.body.checks.session_store).toBe('ok')
    expect((await chat()).statusCode).toBe(200)
  }, 60_000)
})
