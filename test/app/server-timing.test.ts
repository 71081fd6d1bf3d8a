// Where the time went, on every answer: Server-Timing `upstream;dur=…, gateway;dur=…` on
// JSON answers, and the same split of the time to the first delta in the SSE chat_completed
// frame's `timing`. The parts never add up to more than the total; Coze's time is Coze's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSse, startStack, userMsg, type Stack } from '../helpers/stack.js'

/** Server-Timing → { name: dur } */
function serverTiming (header: string | null | undefined): Record<string, number> {
  const out: Record<string, number> = {}
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().split(';')
    const dur = params.map((p) => p.trim()).find((p) => p.startsWith('dur='))
    if (name && dur) out[name] = Number(dur.slice(4))
  }
  return out
}

describe('Server-Timing and chat_completed timing', () => {
  let s: Stack
  let base: string
  beforeAll(async () => {
    s = await startStack()
    base = await s.app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => { await s.close() })

  /** A request over a real socket, with the time the client saw (ms). */
  async function timed (path: string, body?: unknown): Promise<{ res: Response, text: string, elapsed: number }> {
    const t0 = performance.now()
    const res = await fetch(base + path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const text = await res.text()
    return { res, text, elapsed: performance.now() - t0 }
  }

  it('a JSON chat: upstream and gateway parts, adding up to no more than the total the client saw', async () => {
    const { res, elapsed } = await timed('/api/v1/chat', { user_id: 'u1', messages: [userMsg('hello there')] })
    expect(res.status).toBe(200)
    const t = serverTiming(res.headers.get('server-timing'))
    expect(Object.keys(t)).toEqual(['upstream', 'gateway'])
    expect(t.upstream).toBeGreaterThan(0)
    expect(t.gateway).toBeGreaterThanOrEqual(0)
    expect(t.upstream! + t.gateway!).toBeLessThanOrEqual(elapsed)
  })

  it('Coze\'s slowness is upstream time, not the gateway\'s (a 300 ms latency fault)', async () => {
    const { res, elapsed } = await timed('/api/v1/chat', { user_id: 'u1', bot_id: 'fault-latency-300', messages: [userMsg('hello there')] })
    expect(res.status).toBe(200)
    const t = serverTiming(res.headers.get('server-timing'))
    expect(t.upstream).toBeGreaterThanOrEqual(300)
    expect(t.gateway).toBeLessThan(t.upstream! - 250)
    expect(t.upstream! + t.gateway!).toBeLessThanOrEqual(elapsed)
  })

  it('Coze calls made in parallel count once: six bot profiles at 150 ms each stay within the total', async () => {
    s.emu.faults.inject({ kind: 'latency', headersMs: 150 }, { path: /^\/v1\/bots\/[^/]+$/ })
    try {
      const { res, text, elapsed } = await timed('/api/v1/bots?workspace_id=7500000000000000101&page_size=20')
      expect(res.status).toBe(200)
      expect(JSON.parse(text).data.length).toBeGreaterThanOrEqual(6)
      const t = serverTiming(res.headers.get('server-timing'))
      expect(t.upstream).toBeGreaterThanOrEqual(150)
      expect(t.upstream! + t.gateway!).toBeLessThanOrEqual(elapsed)
    } finally {
      s.emu.faults.clear()
    }
  })

  it('on other JSON answers too: a Coze call (user info), none (/health), an error (404), the OpenAI API', async () => {
    const info = await timed('/api/v1/user/info')
    expect(serverTiming(info.res.headers.get('server-timing')).upstream).toBeGreaterThan(0)
    const health = serverTiming((await timed('/health')).res.headers.get('server-timing'))
    expect(health).toMatchObject({ upstream: 0 })
    expect(health.gateway).toBeGreaterThanOrEqual(0)
    const missing = await timed('/api/v1/nope')
    expect(missing.res.status).toBe(404)
    expect(serverTiming(missing.res.headers.get('server-timing'))).toMatchObject({ upstream: 0 })
    const completion = await timed('/v1/chat/completions', { messages: [userMsg('hi')] })
    const t = serverTiming(completion.res.headers.get('server-timing'))
    expect(t.upstream! + t.gateway!).toBeLessThanOrEqual(completion.elapsed)
    expect(t.upstream).toBeGreaterThan(0)
    // readable by cross-origin frontends
    const cors = await fetch(`${base}/health`, { headers: { origin: 'http://localhost:3000' } })
    expect(cors.headers.get('access-control-expose-headers')).toMatch(/server-timing/)
  })

  it('SSE: chat_completed carries timing {upstream_ms, gateway_ms, first_delta_ms}, the parts within the time to first delta', async () => {
    const { res, text, elapsed } = await timed('/api/v1/chat', { user_id: 'u1', stream: true, bot_id: 'fault-latency-200', messages: [userMsg('hello there')] })
    expect(res.headers.get('content-type')).toMatch(/event-stream/)
    const done = parseSse(text).find((f) => f.type === 'chat_completed')!
    const timing = done.timing as { upstream_ms: number, gateway_ms: number, first_delta_ms: number }
    expect(Object.keys(timing).sort()).toEqual(['first_delta_ms', 'gateway_ms', 'upstream_ms'])
    expect(timing.upstream_ms).toBeGreaterThanOrEqual(200)
    expect(timing.gateway_ms).toBeGreaterThanOrEqual(0)
    expect(timing.upstream_ms + timing.gateway_ms).toBeLessThanOrEqual(timing.first_delta_ms)
    expect(timing.first_delta_ms).toBeLessThanOrEqual(elapsed)
  })

  it('the split is exact to the microsecond, whatever the floating point', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', stream: true, messages: [userMsg('hi')] } })
      const t = parseSse(r.body).find((f) => f.type === 'chat_completed')!.timing as { upstream_ms: number, gateway_ms: number, first_delta_ms: number }
      expect(t.upstream_ms + t.gateway_ms).toBeLessThanOrEqual(t.first_delta_ms)
      expect(t.first_delta_ms - t.upstream_ms - t.gateway_ms).toBeGreaterThanOrEqual(0)
      for (const v of Object.values(t)) expect(Math.round(v * 1000) / 1000).toBe(v)
    }
  })
})
