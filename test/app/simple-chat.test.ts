// The chatbot service's simple chat API: /chat, /chat/stream, /session/{id}/info, /session/{id}/clear.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseSse, startStack, type Stack } from '../helpers/stack.js'

let s: Stack
beforeAll(async () => { s = await startStack({ SESSION_STORE: 'memory' }) })
afterAll(async () => { await s.close() })
afterEach(() => { s.emu.faults.clear() })

const post = (url: string, payload?: unknown) => s.app.inject({ method: 'POST', url, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) })
const get = (url: string) => s.app.inject({ method: 'GET', url })

describe('POST /chat', () => {
  it('answers {response, session_id, message_id, timestamp, conversation_id}; a new session when none is given', async () => {
    const r = await post('/chat', { message: '你好，我想聊聊最近的心情' })
    expect(r.statusCode).toBe(200)
    const b = r.json()
    expect(Object.keys(b).sort()).toEqual(['conversation_id', 'message_id', 'response', 'session_id', 'timestamp'])
    expect(b.response).toContain('你好，我想聊聊最近的心情')
    expect(b.session_id).toMatch(/^sess_/)
    expect(b.message_id).toMatch(/^\d+$/)
    expect(b.conversation_id).toMatch(/^\d+$/)
    expect(new Date(b.timestamp).toISOString()).toBe(b.timestamp)
    expect('success' in b).toBe(false)
  })

  it('keeps the context of a session across turns; a null session_id (the Python client) starts a new one', async () => {
    const a = (await post('/chat', { message: 'I feel stressed', session_id: 'demo_session_1', user_id: 'user123' })).json()
    expect(a.session_id).toBe('demo_session_1')
    const b = (await post('/chat', { message: 'what did I just say?', session_id: 'demo_session_1', user_id: 'user123' })).json()
    expect(b.response).toContain('Earlier you said: "I feel stressed"')
    expect(b.conversation_id).toBe(a.conversation_id)
    const blank = await post('/chat', { message: 'hello', session_id: '', user_id: '' })
    expect(blank.statusCode).toBe(200)
    expect(blank.json().session_id).toMatch(/^sess_/)
    const fresh = await post('/chat', { message: 'hello', session_id: null, user_id: null })
    expect(fresh.statusCode).toBe(200)
    expect(fresh.json().session_id).not.toBe('demo_session_1')
    expect(fresh.json().response).toMatch(/^Turn 1\./)
  })

  it('errors are {"detail": ...} with the right status', async () => {
    const missing = await post('/chat', { session_id: 'x' })
    expect(missing.statusCode).toBe(400)
    expect(missing.json()).toEqual({ detail: expect.stringMatching(/message/) })
    const empty = await post('/chat', { message: '' })
    expect(empty.statusCode).toBe(400)
    expect(Object.keys(empty.json())).toEqual(['detail'])
    const badJson = await s.app.inject({ method: 'POST', url: '/chat', headers: { 'content-type': 'application/json' }, payload: '{"message":' })
    expect(badJson.statusCode).toBe(400)
    expect(Object.keys(badJson.json())).toEqual(['detail'])
    const badId = await post('/chat', { message: 'hi', session_id: 'no spaces allowed' })
    expect(badId.statusCode).toBe(400)
    expect(badId.json().detail).toMatch(/session_id/)
    const auth = await post('/chat', { message: 'hi', bot_id: 'fault-4100' })
    expect(auth.statusCode).toBe(502)
    expect(auth.json()).toEqual({ detail: expect.stringMatching(/token/) })
    s.emu.faults.inject({ kind: 'http_status', status: 503 }, { path: '/v3/chat', times: 1 })
    const down = await post('/chat', { message: 'hi' })
    expect(down.statusCode).toBeGreaterThanOrEqual(502)
    expect(Object.keys(down.json())).toEqual(['detail'])
  })

  it('another user\'s session is 404 {"detail"}, for chat, info and clear', async () => {
    await post('/chat', { message: 'mine', session_id: 'owned_by_a', user_id: 'a' })
    const chat = await post('/chat', { message: 'let me in', session_id: 'owned_by_a', user_id: 'b' })
    expect(chat.statusCode).toBe(404)
    expect(chat.json()).toEqual({ detail: 'Session owned_by_a not found (it may have expired).' })
    expect((await get('/session/owned_by_a/info?user_id=b')).statusCode).toBe(404)
    expect((await post('/session/owned_by_a/clear?user_id=b')).statusCode).toBe(404)
    expect((await get('/session/owned_by_a/info?user_id=a')).statusCode).toBe(200)
  })
})

describe('POST /chat/stream', () => {
  it('sends chunk frames with chunk_index, then complete with total_chunks and full_content', async () => {
    const r = await post('/chat/stream', { message: '能给我一些缓解压力的建议吗？', session_id: 'web_session_1' })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/)
    const frames = parseSse(r.body)
    const chunks = frames.filter((f) => f.type === 'chunk') as Array<{ type: string, data: { content: string, chunk_index: number } }>
    expect(chunks.length).toBeGreaterThanOrEqual(3)
    chunks.forEach((c, i) => expect(c.data.chunk_index).toBe(i))
    const last = frames.at(-1) as { type: string, data: Record<string, unknown> }
    expect(last.type).toBe('complete')
    expect(last.data.total_chunks).toBe(chunks.length)
    expect(last.data.full_content).toBe(chunks.map((c) => c.data.content).join(''))
    expect(last.data.full_content).toContain('能给我一些缓解压力的建议吗？')
    expect(last.data.session_id).toBe('web_session_1')
    expect(last.data.conversation_id).toMatch(/^\d+$/)
    expect(frames.map((f) => f.type)).not.toContain('end')
  })

  it('streams on the same session as /chat: context carries over', async () => {
    await post('/chat', { message: 'the sky is green', session_id: 'mixed' })
    const frames = parseSse((await post('/chat/stream', { message: 'what colour is the sky?', session_id: 'mixed' })).body)
    const done = frames.find((f) => f.type === 'complete') as unknown as { data: { full_content: string } }
    expect(done.data.full_content).toContain('Earlier you said: "the sky is green"')
  })

  it('a failure mid-stream is an error frame {type:"error", data:{message}}', async () => {
    const frames = parseSse((await post('/chat/stream', { message: 'hi', bot_id: 'fault-stream-error-2' })).body)
    expect(frames.filter((f) => f.type === 'chunk')).toHaveLength(2)
    const err = frames.at(-1) as { type: string, data: { message: string } }
    expect(err.type).toBe('error')
    expect(Object.keys(err.data)).toEqual(['message'])
    expect(err.data.message.length).toBeGreaterThan(0)
    expect(frames.map((f) => f.type)).not.toContain('complete')
  })

  it('errors before the stream starts are {"detail"} JSON with the status', async () => {
    const bad = await post('/chat/stream', {})
    expect(bad.statusCode).toBe(400)
    expect(Object.keys(bad.json())).toEqual(['detail'])
    const auth = await post('/chat/stream', { message: 'hi', bot_id: 'fault-4100' })
    expect(auth.statusCode).toBe(502)
    expect(auth.headers['content-type']).toMatch(/application\/json/)
    expect(auth.json().detail).toMatch(/token/)
    await post('/chat', { message: 'x', session_id: 'stream_owned', user_id: 'a' })
    const notMine = await post('/chat/stream', { message: 'x', session_id: 'stream_owned', user_id: 'b' })
    expect(notMine.statusCode).toBe(404)
    expect(notMine.json()).toEqual({ detail: expect.stringMatching(/not found/) })
  })
})

describe('/session/{session_id}', () => {
  it('GET info answers {session_id, user_id, conversation_id, last_activity, message_count, status}', async () => {
    const a = (await post('/chat', { message: 'one', session_id: 'info_session', user_id: 'user123' })).json()
    await post('/chat', { message: 'two', session_id: 'info_session', user_id: 'user123' })
    const r = await get('/session/info_session/info?user_id=user123')
    expect(r.statusCode).toBe(200)
    const b = r.json()
    expect(b).toEqual({
      session_id: 'info_session', user_id: 'user123', conversation_id: a.conversation_id,
      last_activity: expect.any(String), message_count: 2, status: 'active'
    })
    expect(new Date(b.last_activity).toISOString()).toBe(b.last_activity)
  })

  it('unknown session → 404 {"detail"}', async () => {
    for (const r of [await get('/session/nope/info'), await post('/session/nope/clear')]) {
      expect(r.statusCode).toBe(404)
      expect(r.json()).toEqual({ detail: 'Session nope not found (it may have expired).' })
    }
  })

  it('POST clear answers {message, session_id, cleared_at}, and the next turn no longer sees earlier ones', async () => {
    await post('/chat', { message: 'my secret is 42', session_id: 'clear_me' })
    const before = Date.now()
    const r = await post('/session/clear_me/clear')
    expect(r.statusCode).toBe(200)
    const b = r.json()
    expect(Object.keys(b).sort()).toEqual(['cleared_at', 'message', 'session_id'])
    expect(b.session_id).toBe('clear_me')
    expect(Date.parse(b.cleared_at)).toBeGreaterThanOrEqual(before - 5)
    const after = (await post('/chat', { message: 'what is my secret?', session_id: 'clear_me' })).json()
    expect(after.response).toBe('Turn 1. You said: "what is my secret?". [context: user]')
    expect((await get('/session/clear_me/info')).json().message_count).toBe(1)
  })

  it('bad session id → 400 {"detail"}', async () => {
    const r = await get('/session/bad%20id/info')
    expect(r.statusCode).toBe(400)
    expect(Object.keys(r.json())).toEqual(['detail'])
  })
})

describe('rate limit', () => {
  it('answers 429 in the {"detail"} shape too, with Retry-After', async () => {
    const limited = await startStack({ SESSION_STORE: 'memory', ENABLE_RATE_LIMIT: 'true', RATE_LIMIT_REQUESTS: '1' })
    try {
      await limited.app.inject({ url: '/session/any/info' })
      const r = await limited.app.inject({ url: '/session/any/info' })
      expect(r.statusCode).toBe(429)
      expect(r.json()).toEqual({ detail: expect.stringMatching(/Rate limit exceeded/) })
      expect(r.headers['retry-after']).toBeDefined()
    } finally {
      await limited.close()
    }
  })
})

describe('OpenAPI', () => {
  it('documents the simple chat API under its own tag, with the {"detail"} error shape', async () => {
    const spec = (await get('/docs/json')).json()
    const tag = spec.tags.find((t: { name: string }) => t.name === 'chatbot-service')
    expect(tag.description).toMatch(/detail/)
    for (const [path, method] of [['/chat', 'post'], ['/chat/stream', 'post'], ['/session/{session_id}/info', 'get'], ['/session/{session_id}/clear', 'post']] as const) {
      const op = spec.paths[path][method]
      expect(op.tags).toEqual(['chatbot-service'])
      expect(JSON.stringify(op.responses['404'])).toMatch(/detail/)
    }
    for (const path of ['/api/v1/sessions', '/api/v1/sessions/{session_id}', '/api/v1/sessions/{session_id}/clear', '/api/v1/conversations', '/api/v1/conversations/{conversation_id}/messages']) {
      expect(spec.paths[path]).toBeDefined()
    }
  })
})
