// Streaming behaviour over real sockets: heartbeats, disconnects, shutdown.
import { afterEach, describe, expect, it } from 'vitest'
import { parseSse, startStack, userMsg, type Stack } from '../helpers/stack.js'

async function listen (s: Stack): Promise<string> {
  return s.app.listen({ host: '127.0.0.1', port: 0 })
}

const post = (url: string, body: unknown, signal?: AbortSignal) => fetch(`${url}/api/v1/chat`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal
})

async function waitFor (cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('SSE over a real socket', () => {
  let s: Stack | undefined
  afterEach(async () => { await s?.close(); s = undefined })

  it('sends each delta as soon as Coze sends it (no coalescing) and heartbeats while Coze is silent', async () => {
    s = await startStack({ SSE_HEARTBEAT_MS: '40' }, { slowDeltaMs: 150 })
    const url = await listen(s)
    const res = await post(url, { user_id: 'u', bot_id: 'bot-slow', messages: [userMsg('a b c d e f')], stream: true })
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    const arrivals: Array<{ at: number, text: string }> = []
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      arrivals.push({ at: Date.now(), text: decoder.decode(value) })
    }
    const body = arrivals.map((a) => a.text).join('')
    const frames = parseSse(body)
    expect(frames.some((f) => f.type === ':comment')).toBe(true)
    const deltaChunks = arrivals.filter((a) => a.text.includes('"message_delta"'))
    // deltas arrive in separate reads, spread over time, not in one burst at the end
    expect(deltaChunks.length).toBeGreaterThanOrEqual(3)
    expect(deltaChunks.at(-1)!.at - deltaChunks[0]!.at).toBeGreaterThanOrEqual(200)
    expect(frames.filter((f) => f.type !== ':comment').slice(-2).map((f) => f.type)).toEqual(['chat_completed', 'end'])
  })

  it('a client that disconnects aborts the upstream request and cancels the Coze chat', async () => {
    s = await startStack({}, { slowDeltaMs: 200 })
    const url = await listen(s)
    const ac = new AbortController()
    const res = await post(url, { user_id: 'u', bot_id: 'bot-slow', messages: [userMsg('one two three four five six')], stream: true }, ac.signal)
    const reader = res.body!.getReader()
    let got = ''
    while (!got.includes('message_delta')) got += new TextDecoder().decode((await reader.read()).value)
    ac.abort()
    const emu = s.emu
    await waitFor(() => emu.requests.some((r) => r.path === '/v3/chat' && r.aborted))
    await waitFor(() => emu.requests.some((r) => r.path === '/v3/chat/cancel'))
  })

  it('a non-stream client that disconnects also aborts the upstream request', async () => {
    s = await startStack({}, { slowDeltaMs: 200 })
    const url = await listen(s)
    const ac = new AbortController()
    const pending = post(url, { user_id: 'u', bot_id: 'bot-slow', messages: [userMsg('one two three four five six')] }, ac.signal).catch(() => undefined)
    const emu = s.emu
    await waitFor(() => emu.requests.some((r) => r.path === '/v3/chat'))
    await new Promise((r) => setTimeout(r, 250))
    ac.abort()
    await pending
    await waitFor(() => emu.requests.some((r) => r.path === '/v3/chat' && r.aborted))
    expect(s.logs.join('')).not.toContain('unhandled error')
  })

  it('shutdown ends an open stream with an error frame and end, promptly', async () => {
    s = await startStack({}, { slowDeltaMs: 2000 })
    const url = await listen(s)
    const res = await post(url, { user_id: 'u', bot_id: 'bot-slow', messages: [userMsg('one two three four')], stream: true })
    const reader = res.body!.getReader()
    const first = await reader.read()
    expect(first.done).toBe(false)
    const started = Date.now()
    const closing = s.app.close()
    let rest = new TextDecoder().decode(first.value)
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      rest += new TextDecoder().decode(value)
    }
    await closing
    expect(Date.now() - started).toBeLessThan(1500)
    const frames = parseSse(rest).filter((f) => f.type !== ':comment')
    expect(frames.at(-1)).toEqual({ type: 'end' })
    expect(frames.at(-2)).toMatchObject({ type: 'error', code: 'SHUTTING_DOWN' })
    await s.emu.close()
    s = undefined
  })

  it('keeps CORS headers on SSE responses', async () => {
    s = await startStack()
    const url = await listen(s)
    const res = await fetch(`${url}/api/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://app.example' }, body: JSON.stringify({ user_id: 'u', messages: [userMsg('hi')], stream: true }) })
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    await res.text()
  })
})
