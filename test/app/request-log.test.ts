// One log line per request that answers "why": the route pattern and the key id on every
// line; a chat's bot, conversation id, chat id, time to first delta and tokens; an error's
// gateway code, Coze code and logid; the probes at debug only. No secret in any line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_BOT, parseSse, startStack, userMsg, type Stack } from '../helpers/stack.js'

type Line = Record<string, unknown> & { level: number, msg: string }

describe('request log lines', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ LOG_LEVEL: 'debug' }) })
  afterAll(async () => { await s.close() })

  const lines = (): Line[] => s.logs.map((l) => JSON.parse(l) as Line)
  /** The request line of the request whose response carried `requestId`. */
  const lineOf = (requestId: string) => lines().find((l) => l.msg === 'request' && l.reqId === requestId)!

  it('every line has the route pattern (not the raw URL) and the key id ("none" without keys)', async () => {
    const r = await s.app.inject({ url: '/api/v1/sessions/some-session?user_id=u1' })
    expect(r.statusCode).toBe(404)
    const l = lineOf(r.headers['x-request-id'] as string)
    expect(l).toMatchObject({ level: 30, method: 'GET', route: '/api/v1/sessions/:session_id', url: '/api/v1/sessions/some-session?user_id=u1', statusCode: 404, key: 'none', code: 'NOT_FOUND' })
    expect(typeof l.ms).toBe('number')
  })

  it('a chat line carries the bot, the conversation and chat ids, the time to first delta, the tokens and the upstream/gateway split', async () => {
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', messages: [userMsg('hello there')] } })
    const body = r.json()
    const l = lineOf(r.headers['x-request-id'] as string)
    expect(l).toMatchObject({
      route: '/api/v1/chat',
      bot: DEFAULT_BOT,
      conversation_id: body.data.conversation_id,
      chat_id: body.data.chat_id,
      tokens: { input: body.data.usage.input_count, output: body.data.usage.output_count },
      logid: r.headers['x-coze-logid']
    })
    expect(l.first_delta_ms).toBeGreaterThan(0)
    expect((l.upstream_ms as number) + (l.gateway_ms as number)).toBeLessThanOrEqual(l.ms as number + 1)

    const streamed = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', stream: true, messages: [userMsg('hello again')] } })
    const done = parseSse(streamed.body).find((f) => f.type === 'chat_completed')!
    const sl = lineOf(streamed.headers['x-request-id'] as string)
    expect(sl).toMatchObject({ bot: DEFAULT_BOT, chat_id: done.chat_id, conversation_id: done.conversation_id, first_delta_ms: Math.round((done.timing as { first_delta_ms: number }).first_delta_ms * 10) / 10 })
    expect(sl.tokens).toEqual({ input: (done.usage as { input_count: number }).input_count, output: (done.usage as { output_count: number }).output_count })
  })

  it('an error line carries the gateway code, the Coze code and the logid; a stream error too', async () => {
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', bot_id: 'fault-4013', messages: [userMsg('x')] } })
    expect(r.statusCode).toBe(429)
    expect(lineOf(r.headers['x-request-id'] as string)).toMatchObject({ statusCode: 429, code: 'UPSTREAM_RATE_LIMITED', coze_code: 4013, logid: r.json().logid })

    const cut = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', stream: true, bot_id: 'fault-stream-error-2', messages: [userMsg('x')] } })
    const frame = parseSse(cut.body).find((f) => f.type === 'error')!
    const l = lineOf(cut.headers['x-request-id'] as string)
    expect(l).toMatchObject({ statusCode: 200, code: frame.code, coze_code: frame.coze_code, logid: frame.logid, chat_id: expect.any(String) })
  })

  it('probes (/health, /ready, /metrics) are logged at debug, everything else at info', async () => {
    for (const url of ['/health', '/ready', '/metrics']) {
      const r = await s.app.inject({ url })
      expect(lineOf(r.headers['x-request-id'] as string)).toMatchObject({ level: 20, route: url })
    }
    const r = await s.app.inject({ url: '/' })
    expect(lineOf(r.headers['x-request-id'] as string).level).toBe(30)
    // no secret anywhere
    expect(s.logs.join('\n')).not.toContain(s.emu.token)
  })

  it('a client that leaves gets its line too: a stream it closed (200), a JSON chat it gave up on (499)', async () => {
    const slow = await startStack({}, { slowDeltaMs: 150 })
    try {
      const base = await slow.app.listen({ host: '127.0.0.1', port: 0 })
      const post = (body: Record<string, unknown>, signal: AbortSignal) => fetch(`${base}/api/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal })
      const ac = new AbortController()
      const res = await post({ user_id: 'u1', bot_id: 'bot-slow', stream: true, messages: [userMsg('one two three four')] }, ac.signal)
      await res.body!.getReader().read()
      ac.abort()
      const ac2 = new AbortController()
      const gone = post({ user_id: 'u1', bot_id: 'bot-slow', messages: [userMsg('one two three four')] }, ac2.signal).catch(() => undefined)
      await new Promise((resolve) => setTimeout(resolve, 200))
      ac2.abort()
      await gone
      const deadline = Date.now() + 5000
      const aborted = () => slow.logs.map((l) => JSON.parse(l) as Line).filter((l) => l.aborted === true)
      while (aborted().length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
      const lines = aborted()
      expect(lines.map((l) => l.statusCode).sort()).toEqual([200, 499])
      for (const l of lines) expect(l).toMatchObject({ msg: 'request aborted by the client', route: '/api/v1/chat', key: 'none', bot: 'bot-slow', chat_id: expect.any(String) })
    } finally {
      await slow.close()
    }
  })

  it('at LOG_LEVEL=info the probes write no line at all', async () => {
    const quiet = await startStack()
    try {
      await quiet.app.inject({ url: '/health' })
      await quiet.app.inject({ url: '/ready' })
      await quiet.app.inject({ url: '/metrics' })
      await quiet.app.inject({ url: '/' })
      const routes = quiet.logs.map((l) => JSON.parse(l) as Line).filter((l) => l.msg === 'request').map((l) => l.route)
      expect(routes).toEqual(['/'])
    } finally {
      await quiet.close()
    }
  })
})
