// GET /metrics as Prometheus reads it: every scrape is parsed by a real text-format parser.
// Chats through each surface, tokens against the emulator's usage, open streams, upstream
// faults by Coze code, refusals, label cardinality, METRICS_TOKEN, METRICS_PORT.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { hashKey } from '../../src/access/keys.js'
import { CHATFLOW_ECHO_ID } from '../../src/emulator/index.js'
import { DEFAULT_BOT, parseSse, startStack, userMsg, type Stack } from '../helpers/stack.js'
import { scrape, type Scrape } from '../helpers/prometheus.js'

const P = 'coze_gateway_'

/** The difference of one counter (or a histogram's count) between two scrapes. */
const moved = (a: Scrape, b: Scrape, name: string, match: Record<string, string> = {}) =>
  b.families.get(name)!.type === 'HISTOGRAM' ? b.count(name, match) - a.count(name, match) : b.value(name, match) - a.value(name, match)

describe('GET /metrics', () => {
  let s: Stack
  // a chatflow in COZE_MODEL_MAP is a configured "bot": it gets its own label value
  beforeAll(async () => { s = await startStack({ COZE_MODEL_MAP: JSON.stringify({ support: { workflow_id: CHATFLOW_ECHO_ID } }) }) })
  afterAll(async () => { await s.close() })

  const post = (url: string, payload: Record<string, unknown>) => s.app.inject({ method: 'POST', url, payload })

  it('answers the Prometheus text format: the coze_gateway_ metrics with their types, build info, and the process metrics', async () => {
    const r = await s.app.inject({ url: '/metrics' })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    const m = await scrape(s.app)
    const types: Record<string, string> = {
      http_requests_total: 'COUNTER',
      http_request_duration_seconds: 'HISTOGRAM',
      upstream_requests_total: 'COUNTER',
      time_to_first_delta_seconds: 'HISTOGRAM',
      stream_duration_seconds: 'HISTOGRAM',
      open_streams: 'GAUGE',
      tokens_total: 'COUNTER',
      chats_total: 'COUNTER',
      refusals_total: 'COUNTER',
      queue_wait_seconds: 'HISTOGRAM',
      session_store_errors_total: 'COUNTER',
      overhead_seconds: 'HISTOGRAM',
      build_info: 'GAUGE'
    }
    for (const [name, type] of Object.entries(types)) expect(m.family(P + name).type, name).toBe(type)
    expect(m.series(`${P}build_info`)).toEqual([{ labels: { version: s.config.version, node: process.version, upstream_mode: 'emulator' }, value: '1' }])
    // every surface's gauge and every refusal reason exist from the start, at 0
    expect(m.labelValues(`${P}open_streams`, 'surface').sort()).toEqual(['api', 'chatbot', 'openai', 'workflow'])
    expect(m.labelValues(`${P}refusals_total`, 'reason').sort()).toEqual(['conversation_busy', 'forbidden', 'quota_exceeded', 'rate_limited', 'too_many_streams', 'unauthorized'])
    expect(m.value('process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(m.value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0)
  })

  // One chat per surface, JSON then SSE: each moves its counters by exactly one.
  const chats: Array<{ surface: string, route: string, endpoint: string, bot: string, stream: boolean, body: Record<string, unknown> }> = [
    { surface: 'api', route: '/api/v1/chat', endpoint: 'chat', bot: DEFAULT_BOT, stream: false, body: { user_id: 'u1', messages: [userMsg('hello there')] } },
    { surface: 'api', route: '/api/v1/chat', endpoint: 'chat', bot: DEFAULT_BOT, stream: true, body: { user_id: 'u1', stream: true, messages: [userMsg('hello there')] } },
    { surface: 'chatbot', route: '/chat', endpoint: 'chat', bot: DEFAULT_BOT, stream: false, body: { message: 'hello there' } },
    { surface: 'chatbot', route: '/chat/stream', endpoint: 'chat', bot: DEFAULT_BOT, stream: true, body: { message: 'hello there' } },
    { surface: 'openai', route: '/v1/chat/completions', endpoint: 'chat', bot: DEFAULT_BOT, stream: false, body: { messages: [userMsg('hello there')] } },
    { surface: 'openai', route: '/v1/chat/completions', endpoint: 'chat', bot: DEFAULT_BOT, stream: true, body: { stream: true, messages: [userMsg('hello there')] } },
    { surface: 'workflow', route: '/api/v1/workflows/:workflow_id/chat', endpoint: 'chatflow', bot: CHATFLOW_ECHO_ID, stream: false, body: { user_id: 'u1', messages: [userMsg('hello there')] } },
    { surface: 'workflow', route: '/api/v1/workflows/:workflow_id/chat', endpoint: 'chatflow', bot: CHATFLOW_ECHO_ID, stream: true, body: { user_id: 'u1', stream: true, messages: [userMsg('hello there')] } }
  ]
  for (const c of chats) {
    it(`a ${c.stream ? 'streamed' : 'JSON'} chat on the ${c.surface} surface (${c.route}) moves its counters by exactly one`, async () => {
      const before = await scrape(s.app)
      const url = c.route.replace(':workflow_id', CHATFLOW_ECHO_ID)
      const r = await post(url, c.body)
      expect(r.statusCode).toBe(200)
      if (c.stream) expect(r.headers['content-type']).toMatch(/event-stream/)
      const after = await scrape(s.app)
      const d = (name: string, match: Record<string, string>) => moved(before, after, P + name, match)
      expect(d('http_requests_total', { route: c.route, method: 'POST', status: '200' })).toBe(1)
      expect(d('http_request_duration_seconds', { route: c.route, method: 'POST' })).toBe(1)
      expect(d('chats_total', { bot: c.bot, key: 'none', status: 'completed' })).toBe(1)
      expect(d('chats_total', {})).toBe(1)
      expect(d('upstream_requests_total', { endpoint: c.endpoint, outcome: 'ok', coze_code: '0' })).toBe(1)
      // the simple chat API always chats on a session: a new one creates its conversation first
      expect(d('upstream_requests_total', { endpoint: 'conversation_create', outcome: 'ok' })).toBe(c.surface === 'chatbot' ? 1 : 0)
      expect(d('upstream_requests_total', { outcome: 'ok' })).toBe(c.surface === 'chatbot' ? 2 : 1)
      expect(d('time_to_first_delta_seconds', { surface: c.surface })).toBe(1)
      expect(d('overhead_seconds', { surface: c.surface })).toBe(1)
      expect(d('stream_duration_seconds', { surface: c.surface, outcome: 'completed' })).toBe(c.stream ? 1 : 0)
      expect(d('tokens_total', { bot: c.bot, key: 'none', kind: 'output' })).toBeGreaterThan(0)
      expect(after.value(`${P}open_streams`, { surface: c.surface })).toBe(0)
    })
  }

  it('a workflow run, sync and streamed, counts as workflow_run / workflow_stream, and the stream\'s first Message as its first delta', async () => {
    const before = await scrape(s.app)
    expect((await post('/api/v1/workflows/wf-echo/run', { parameters: { input: 'hi' } })).statusCode).toBe(200)
    const streamed = await post('/api/v1/workflows/wf-echo/run', { parameters: { input: 'hi' }, stream: true })
    expect(parseSse(streamed.body).map((f) => f.type)).toContain('done')
    const after = await scrape(s.app)
    const d = (name: string, match: Record<string, string>) => moved(before, after, P + name, match)
    expect(d('upstream_requests_total', { endpoint: 'workflow_run', outcome: 'ok' })).toBe(1)
    expect(d('upstream_requests_total', { endpoint: 'workflow_stream', outcome: 'ok' })).toBe(1)
    expect(d('http_requests_total', { route: '/api/v1/workflows/:workflow_id/run', status: '200' })).toBe(2)
    expect(d('stream_duration_seconds', { surface: 'workflow', outcome: 'completed' })).toBe(1)
    expect(d('time_to_first_delta_seconds', { surface: 'workflow' })).toBe(1)
    // a workflow run is not a chat
    expect(d('chats_total', {})).toBe(0)
  })

  it('the token counters equal the usage the emulator reported for those chats', async () => {
    const before = await scrape(s.app)
    let input = 0
    let output = 0
    const json = (await post('/api/v1/chat', { user_id: 'u2', messages: [userMsg('count my tokens please')] })).json()
    input += json.data.usage.input_count
    output += json.data.usage.output_count
    const frames = parseSse((await post('/api/v1/chat', { user_id: 'u2', stream: true, messages: [userMsg('and these, a longer question this time')] })).body)
    const done = frames.find((f) => f.type === 'chat_completed') as unknown as { usage: { input_count: number, output_count: number } }
    input += done.usage.input_count
    output += done.usage.output_count
    const completion = (await post('/v1/chat/completions', { messages: [userMsg('one more through the OpenAI API')] })).json()
    input += completion.usage.prompt_tokens
    output += completion.usage.completion_tokens
    const after = await scrape(s.app)
    expect(input).toBeGreaterThan(0)
    expect(moved(before, after, `${P}tokens_total`, { bot: DEFAULT_BOT, key: 'none', kind: 'input' })).toBe(input)
    expect(moved(before, after, `${P}tokens_total`, { bot: DEFAULT_BOT, key: 'none', kind: 'output' })).toBe(output)
  })

  it('an upstream fault is counted under its Coze code and mapped outcome; a chat that fails after it began is a failed chat', async () => {
    const before = await scrape(s.app)
    expect((await post('/api/v1/chat', { user_id: 'u1', bot_id: 'fault-4013', messages: [userMsg('x')] })).statusCode).toBe(429)
    expect((await post('/api/v1/chat', { user_id: 'u1', bot_id: 'fault-5000', messages: [userMsg('x')] })).statusCode).toBe(502)
    expect((await post('/api/v1/workflows/fault-4200/run', { parameters: {} })).statusCode).toBe(404)
    const cut = await post('/api/v1/chat', { user_id: 'u1', bot_id: 'fault-chat-failed-2', stream: true, messages: [userMsg('x')] })
    expect(parseSse(cut.body).find((f) => f.type === 'error')).toMatchObject({ coze_code: 5000 })
    const after = await scrape(s.app)
    const d = (match: Record<string, string>) => moved(before, after, `${P}upstream_requests_total`, match)
    expect(d({ endpoint: 'chat', outcome: 'UPSTREAM_RATE_LIMITED', coze_code: '4013' })).toBe(1)
    expect(d({ endpoint: 'chat', outcome: 'UPSTREAM_ERROR', coze_code: '5000' })).toBe(2)
    expect(d({ endpoint: 'workflow_run', outcome: 'UPSTREAM_NOT_FOUND', coze_code: '4200' })).toBe(1)
    expect(d({ outcome: 'ok' })).toBe(0)
    // the stream began (a chat existed) before it failed; the two others never made a chat
    expect(moved(before, after, `${P}chats_total`, { bot: 'other', status: 'failed' })).toBe(1)
    expect(moved(before, after, `${P}chats_total`, {})).toBe(1)
    expect(moved(before, after, `${P}stream_duration_seconds`, { surface: 'api', outcome: 'error' })).toBe(1)
    // Coze's 429 is Coze's answer, not a refusal of the gateway's own
    expect(moved(before, after, `${P}refusals_total`, {})).toBe(0)
  })

  it('1,000 different unknown bot ids make one `other` series, not 1,000', async () => {
    const before = await scrape(s.app)
    // bot-slow-0, bot-slow-00, …: 1,000 distinct ids the emulator answers (with no delay)
    const ids = Array.from({ length: 1000 }, (_, i) => `bot-slow-${'0'.repeat(i + 1)}`)
    for (let i = 0; i < ids.length; i += 50) {
      const rs = await Promise.all(ids.slice(i, i + 50).map((bot) => post('/api/v1/chat', { user_id: 'card', bot_id: bot, messages: [userMsg('hi')] })))
      for (const r of rs) expect(r.statusCode).toBe(200)
    }
    const after = await scrape(s.app)
    expect(moved(before, after, `${P}chats_total`, { bot: 'other', status: 'completed' })).toBe(1000)
    for (const name of ['chats_total', 'tokens_total']) {
      const bots = after.labelValues(P + name, 'bot')
      expect(bots.every((b) => b === 'other' || b === DEFAULT_BOT || b === CHATFLOW_ECHO_ID), bots.join(',')).toBe(true)
    }
    expect(after.series(`${P}chats_total`).length).toBeLessThan(10)
  }, 120_000)

  it('the gateway\'s own refusals are counted by reason: rate_limited and conversation_busy, not Coze\'s 4016', async () => {
    const limited = await startStack({ ENABLE_RATE_LIMIT: 'true', RATE_LIMIT_REQUESTS: '2', RATE_LIMIT_WINDOW: '60', CHAT_QUEUE_TIMEOUT_MS: '150', SESSION_STORE: 'memory' })
    try {
      const chat = (body: Record<string, unknown>) => limited.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', messages: [userMsg('x')], ...body } })
      // one chat holds the session's lock for a while (3 deltas, 100 ms apart); the next one waits past CHAT_QUEUE_TIMEOUT_MS
      const [slow, busy] = await Promise.all([
        chat({ session_id: 'busy', bot_id: 'bot-slow-100' }),
        new Promise((resolve) => setTimeout(resolve, 30)).then(() => chat({ session_id: 'busy' }))
      ])
      expect(slow.statusCode).toBe(200)
      expect(busy.statusCode).toBe(409)
      expect(busy.json().code).toBe('CONVERSATION_BUSY')
      expect((await limited.app.inject({ url: '/api/v1/config' })).statusCode).toBe(429)
      // the probes and /metrics are off the rate limiter
      for (let i = 0; i < 5; i++) {
        expect((await limited.app.inject({ url: '/ready' })).statusCode).toBe(200)
        expect((await limited.app.inject({ url: '/metrics' })).statusCode).toBe(200)
      }
      const m = await scrape(limited.app)
      expect(m.value(`${P}refusals_total`, { reason: 'rate_limited' })).toBe(1)
      expect(m.value(`${P}refusals_total`, { reason: 'conversation_busy' })).toBe(1)
      // the waits for the locks were timed, the one that gave up included
      expect(m.count(`${P}queue_wait_seconds`)).toBeGreaterThanOrEqual(3)
      expect(m.sum(`${P}queue_wait_seconds`)).toBeGreaterThanOrEqual(0.1)
    } finally {
      await limited.close()
    }
    const before = await scrape(s.app)
    expect((await post('/api/v1/chat', { user_id: 'u1', bot_id: 'fault-4016', messages: [userMsg('x')] })).statusCode).toBe(409)
    expect(moved(before, await scrape(s.app), `${P}refusals_total`, { reason: 'conversation_busy' })).toBe(0)
  })
})

describe('the key label and refusals from access control', () => {
  it('the gateway key id labels tokens and chats; an unknown key (401) and a key without the scope (403) are counted as refusals', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-metrics-keys-'))
    const file = path.join(dir, 'keys.json')
    const raw = 'gk_metrics_ops_0123456789abcdef'
    const rawNoChat = 'gk_metrics_ro_0123456789abcdef'
    writeFileSync(file, JSON.stringify({
      keys: [
        { id: 'key_ops', name: 'ops', hash: hashKey(raw), scopes: ['chat'], bots: ['*'] },
        { id: 'key_ro', name: 'read only', hash: hashKey(rawNoChat), scopes: ['sessions'] }
      ]
    }))
    const s = await startStack({ GATEWAY_KEYS_FILE: file })
    try {
      const chat = (key: string) => s.app.inject({ method: 'POST', url: '/api/v1/chat', headers: { authorization: `Bearer ${key}` }, payload: { user_id: 'u1', messages: [userMsg('hi')] } })
      const r = await chat(raw)
      expect(r.statusCode).toBe(200)
      expect((await chat('gk_not_a_key_0123456789')).statusCode).toBe(401)
      expect((await chat(rawNoChat)).statusCode).toBe(403)
      const m = await scrape(s.app)
      expect(m.value(`${P}chats_total`, { bot: DEFAULT_BOT, key: 'key_ops', status: 'completed' })).toBe(1)
      expect(m.value(`${P}tokens_total`, { key: 'key_ops', kind: 'input' })).toBe(r.json().data.usage.input_count)
      expect(m.value(`${P}refusals_total`, { reason: 'unauthorized' })).toBe(1)
      expect(m.value(`${P}refusals_total`, { reason: 'forbidden' })).toBe(1)
    } finally {
      await s.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('open streams', () => {
  let s: Stack
  let base: string
  beforeAll(async () => {
    s = await startStack({}, { slowDeltaMs: 150 })
    base = await s.app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => { await s.close() })

  const open = (signal?: AbortSignal) => fetch(`${base}/api/v1/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: 'u1', bot_id: 'bot-slow', stream: true, messages: [userMsg('one two three four five six')] }),
    signal
  })
  const gauge = async () => (await scrape(`${base}/metrics`)).value(`${P}open_streams`, { surface: 'api' })

  it('the gauge rises during a slow stream and falls after it', async () => {
    expect(await gauge()).toBe(0)
    const res = await open()
    const reader = res.body!.getReader()
    await reader.read()
    expect(await gauge()).toBe(1)
    const second = await open()
    const r2 = second.body!.getReader()
    await r2.read()
    expect(await gauge()).toBe(2)
    const decoder = new TextDecoder()
    let text = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
    expect(text).toContain('chat_completed')
    expect(await gauge()).toBe(1)
    while (!(await r2.read()).done) { /* drain */ }
    expect(await gauge()).toBe(0)
  })

  it('a client that leaves mid-stream: the gauge falls and the stream ends as client_gone; the chat as canceled', async () => {
    const before = await scrape(`${base}/metrics`)
    const ac = new AbortController()
    const res = await open(ac.signal)
    await res.body!.getReader().read()
    expect(await gauge()).toBe(1)
    ac.abort()
    const deadline = Date.now() + 5000
    while (await gauge() !== 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    const after = await scrape(`${base}/metrics`)
    expect(after.value(`${P}open_streams`, { surface: 'api' })).toBe(0)
    expect(moved(before, after, `${P}stream_duration_seconds`, { surface: 'api', outcome: 'client_gone' })).toBe(1)
    expect(moved(before, after, `${P}chats_total`, { status: 'canceled' })).toBe(1)
    expect(moved(before, after, `${P}upstream_requests_total`, { endpoint: 'chat', outcome: 'aborted' })).toBe(1)
    // Fastify never calls onResponse for it, yet it is an answered request
    expect(moved(before, after, `${P}http_requests_total`, { route: '/api/v1/chat', status: '200' })).toBe(1)
  })
})

describe('METRICS_TOKEN, METRICS_PORT, METRICS_ENABLED', () => {
  it('with METRICS_TOKEN, /metrics needs Authorization: Bearer <token>', async () => {
    const s = await startStack({ METRICS_TOKEN: 'scrape-secret' })
    try {
      const none = await s.app.inject({ url: '/metrics' })
      expect(none.statusCode).toBe(401)
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/)
      expect(none.json()).toMatchObject({ success: false, code: 'UNAUTHORIZED' })
      expect(none.body).not.toContain('scrape-secret')
      expect((await s.app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401)
      expect((await s.app.inject({ url: '/metrics', headers: { authorization: 'scrape-secret' } })).statusCode).toBe(401)
      const m = await scrape(s.app, { authorization: 'Bearer scrape-secret' })
      expect(m.value(`${P}refusals_total`, { reason: 'unauthorized' })).toBe(3)
    } finally {
      await s.close()
    }
  })

  it('METRICS_PORT: /metrics is served by its own listener (with the token) and not on the main port', async () => {
    const s = await startStack({ METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', METRICS_TOKEN: 'tok' })
    try {
      const addr = s.app.metricsAddress()
      expect(addr?.port).toBeGreaterThan(0)
      const url = `http://127.0.0.1:${addr!.port}`
      expect((await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', messages: [userMsg('hi')] } })).statusCode).toBe(200)
      expect((await s.app.inject({ url: '/metrics', headers: { authorization: 'Bearer tok' } })).statusCode).toBe(404)
      expect((await fetch(`${url}/metrics`)).status).toBe(401)
      expect((await fetch(`${url}/api/v1/chat`)).status).toBe(404)
      const m = await scrape(`${url}/metrics`, { authorization: 'Bearer tok' })
      expect(m.value(`${P}chats_total`, { status: 'completed' })).toBe(1)
    } finally {
      await s.close()
    }
    // closed with the app
    const addr = s.app.metricsAddress()
    expect(addr).toBeNull()
  })

  it('METRICS_ENABLED=false: no /metrics, and chats still work', async () => {
    const s = await startStack({ METRICS_ENABLED: 'false' })
    try {
      expect((await s.app.inject({ url: '/metrics' })).statusCode).toBe(404)
      const r = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', messages: [userMsg('hi')] } })
      expect(r.statusCode).toBe(200)
      // the answer's own timing stays
      expect(r.headers['server-timing']).toMatch(/upstream;dur=/)
    } finally {
      await s.close()
    }
  })
})

describe('loadConfig', () => {
  it('METRICS_PORT must be a port', () => {
    expect(() => loadConfig({ METRICS_PORT: 'abc' })).toThrow(/METRICS_PORT/)
    expect(loadConfig({}).METRICS_PORT).toBeUndefined()
    expect(loadConfig({ METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464)
  })
})
