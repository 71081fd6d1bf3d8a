// Sessions through POST /api/v1/chat and /api/v1/sessions, on the real emulator.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseSse, startStack, userMsg, DEFAULT_BOT, type Stack } from '../helpers/stack.js'

let s: Stack
beforeAll(async () => { s = await startStack({ SESSION_STORE: 'memory' }) })
afterAll(async () => { await s.close() })
afterEach(() => { s.emu.faults.clear() })

let seq = 0
const sid = (name: string) => `${name}-${++seq}`

const chat = (body: Record<string, unknown>, stack = s) =>
  stack.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', ...body } })
const say = (sessionId: string, text: string, extra: Record<string, unknown> = {}) =>
  chat({ session_id: sessionId, messages: [userMsg(text)], ...extra })
const get = (url: string) => s.app.inject({ method: 'GET', url })

describe('session_id on POST /api/v1/chat', () => {
  it('multi-turn: the second turn sees the first (JSON), both on one conversation created once', async () => {
    const id = sid('multi')
    const creates = s.emu.requests.filter((r) => r.path === '/v1/conversation/create').length
    const r1 = await say(id, 'my name is Ada')
    expect(r1.statusCode).toBe(200)
    const b1 = r1.json()
    expect(b1.data.content).toMatch(/^Turn 1\. You said: "my name is Ada"/)
    expect(b1.session_id).toBe(id)
    expect(b1.data.session_id).toBe(id)
    expect(b1.conversation_id).toMatch(/^\d+$/)
    expect(b1.data.conversation_id).toBe(b1.conversation_id)

    const r2 = await say(id, 'what is my name?')
    const b2 = r2.json()
    expect(b2.data.content).toContain('Turn 2. You said: "what is my name?". Earlier you said: "my name is Ada"')
    expect(b2.data.content).toContain('[context: user,assistant,user]')
    expect(b2.conversation_id).toBe(b1.conversation_id)
    expect(s.emu.requests.filter((r) => r.path === '/v1/conversation/create').length).toBe(creates + 1)
    // Coze holds the history: only the new turn is sent
    const last = s.emu.requests.filter((r) => r.path === '/v3/chat').at(-1)!
    expect((last.body as { additional_messages: unknown[] }).additional_messages).toHaveLength(1)
  })

  it('multi-turn over SSE: chat_completed carries session_id and conversation_id', async () => {
    const id = sid('sse')
    const f1 = parseSse((await say(id, 'first', { stream: true })).body)
    const done1 = f1.find((f) => f.type === 'chat_completed')!
    expect(done1.session_id).toBe(id)
    expect(done1.conversation_id).toMatch(/^\d+$/)
    const f2 = parseSse((await say(id, 'second', { stream: true })).body)
    const text = f2.filter((f) => f.type === 'message_delta').map((f) => f.content).join('')
    expect(text).toContain('Turn 2. You said: "second". Earlier you said: "first"')
    expect(f2.find((f) => f.type === 'chat_completed')!.conversation_id).toBe(done1.conversation_id)
    expect(f2.at(-1)!.type).toBe('end')
  })

  it('the first turn of a new session sends the whole context given (system message included)', async () => {
    const id = sid('ctx')
    const r = await chat({ session_id: id, messages: [{ role: 'system', content: 'be brief' }, userMsg('one'), { role: 'assistant', content: 'ok' }, userMsg('two')] })
    expect(r.json().data.content).toContain('[context: user,assistant,user]')
    const next = await say(id, 'three')
    expect(next.json().data.content).toMatch(/^Turn 3\./)
  })

  it('after a clear the model no longer sees earlier turns, and the answer says when', async () => {
    const id = sid('clear')
    await say(id, 'remember the word apple')
    await say(id, 'and the word pear')
    const before = Date.now()
    const c = await s.app.inject({ method: 'POST', url: `/api/v1/sessions/${id}/clear`, payload: { user_id: 'u1' } })
    expect(c.statusCode).toBe(200)
    const cb = c.json()
    expect(cb.success).toBe(true)
    expect(Date.parse(cb.cleared_at)).toBeGreaterThanOrEqual(before - 5)
    expect(cb.data.cleared_at).toBe(cb.cleared_at)
    expect(cb.data.message_count).toBe(0)
    const after = (await say(id, 'what words?')).json()
    expect(after.data.content).toBe('Turn 1. You said: "what words?". [context: user]')
    expect(after.data.content).not.toContain('apple')
    // still the same Coze conversation; the history stays readable
    expect(after.conversation_id).toBe(cb.data.conversation_id)
    const info = (await get(`/api/v1/sessions/${id}?user_id=u1`)).json().data
    expect(info.message_count).toBe(1)
  })

  it('ten concurrent messages on one session are all answered, in order, none with 4016', async () => {
    const id = sid('ten')
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => say(id, `message ${i}`, { stream: i % 2 === 1 })))
    rs.forEach((r, i) => {
      expect(r.statusCode).toBe(200)
      const text = i % 2 === 1
        ? parseSse(r.body).filter((f) => f.type === 'message_delta').map((f) => f.content).join('')
        : r.json().data.content
      expect(text).toMatch(new RegExp(`^Turn ${i + 1}\\. You said: "message ${i}"`))
      if (i > 0) expect(text).toContain(`Earlier you said: "message ${i - 1}"`)
    })
    expect(rs.map((r) => r.body).join('')).not.toMatch(/4016|CONVERSATION_BUSY/)
    expect((await get(`/api/v1/sessions/${id}?user_id=u1`)).json().data.message_count).toBe(10)
  })

  it('concurrent chats on one plain conversation_id are queued too: no 4016', async () => {
    const first = (await chat({ messages: [userMsg('start')] })).json()
    const convId = first.conversation_id as string
    const rs = await Promise.all(Array.from({ length: 6 }, (_, i) => chat({ conversation_id: convId, messages: [userMsg(`c${i}`)] })))
    expect(rs.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200])
    const turns = rs.map((r) => Number(/^Turn (\d+)/.exec(r.json().data.content)![1]))
    expect(turns).toEqual([2, 3, 4, 5, 6, 7])
  })

  it('the lock is released when a chat fails: the next message on the session goes through', async () => {
    const id = sid('fail')
    await say(id, 'hello')
    s.emu.faults.inject({ kind: 'stream_error', afterDeltas: 1 }, { path: '/v3/chat', times: 1 })
    const bad = await say(id, 'this one fails')
    expect(bad.statusCode).toBe(502)
    const ok = await say(id, 'and this one works')
    expect(ok.statusCode).toBe(200)
    s.emu.faults.inject({ kind: 'stream_error', afterDeltas: 1 }, { path: '/v3/chat', times: 1 })
    const badStream = parseSse((await say(id, 'stream fails', { stream: true })).body)
    expect(badStream.map((f) => f.type)).toContain('error')
    expect((await say(id, 'works again')).statusCode).toBe(200)
  })

  it('a session can be bound to a conversation the client already has', async () => {
    const conv = (await chat({ messages: [userMsg('started outside a session')] })).json().conversation_id
    const id = sid('bind')
    const r = (await chat({ session_id: id, conversation_id: conv, messages: [userMsg('now in a session')] })).json()
    expect(r.conversation_id).toBe(conv)
    expect(r.data.content).toContain('Earlier you said: "started outside a session"')
    const mismatch = await chat({ session_id: id, conversation_id: '7000000000000000000', messages: [userMsg('x')] })
    expect(mismatch.statusCode).toBe(400)
    expect(mismatch.json().message).toMatch(/bound to conversation/)
  })

  it('bad input is a 400 naming what to fix', async () => {
    const badId = await say('has spaces/and slash', 'hi')
    expect(badId.statusCode).toBe(400)
    expect(badId.json().message).toMatch(/session_id/)
    const id = sid('bot')
    await say(id, 'hi')
    const otherBot = await say(id, 'hi', { bot_id: 'bot-echo' })
    expect(otherBot.statusCode).toBe(400)
    expect(otherBot.json().message).toMatch(/bound to bot/)
    const noUser = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { session_id: sid('nouser'), messages: [userMsg('hi')] } })
    expect(noUser.statusCode).toBe(400)
    expect(noUser.json().message).toMatch(/user_id is required/)
  })
})

describe('queue bound', () => {
  let q: Stack
  beforeAll(async () => { q = await startStack({ SESSION_STORE: 'memory', CHAT_QUEUE_TIMEOUT_MS: '300' }, { slowDeltaMs: 150 }) })
  afterAll(async () => { await q.close() })

  it('a chat that waits longer than CHAT_QUEUE_TIMEOUT_MS gets a 409 with a clear message; Coze never sees it', async () => {
    const id = 'queue-bound'
    const chatsBefore = q.emu.requests.filter((r) => r.path === '/v3/chat').length
    const slow = chat({ session_id: id, bot_id: 'bot-slow', messages: [userMsg('take your time')] }, q)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const waiting = await chat({ session_id: id, bot_id: 'bot-slow', messages: [userMsg('me too')] }, q)
    expect(waiting.statusCode).toBe(409)
    const body = waiting.json()
    expect(body.success).toBe(false)
    expect(body.code).toBe('CONVERSATION_BUSY')
    expect(body.message).toMatch(/still running.*300 ms.*CHAT_QUEUE_TIMEOUT_MS/)
    expect((await slow).statusCode).toBe(200)
    expect(q.emu.requests.filter((r) => r.path === '/v3/chat').length).toBe(chatsBefore + 1)
  })

  it('a client that leaves mid-stream releases the session at once', async () => {
    const id = 'abandoned'
    await q.app.listen({ port: 0, host: '127.0.0.1' })
    const url = `http://127.0.0.1:${(q.app.server.address() as { port: number }).port}/api/v1/chat`
    const ac = new AbortController()
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u1', session_id: id, bot_id: 'bot-slow', stream: true, messages: [userMsg('long story')] }), signal: ac.signal })
    const reader = res.body!.getReader()
    await reader.read()
    ac.abort()
    // The queue bound is 300 ms here: only a prompt release (and cancel) lets this through.
    const next = await chat({ session_id: id, messages: [userMsg('are you free?')] }, q)
    expect(next.statusCode).toBe(200)
    expect(next.json().data.content).toContain('You said: "are you free?"')
  })
})

describe('ownership', () => {
  it('a session made for user A is 404 for user B: chat, read, clear, delete, list — same as an unknown id', async () => {
    const id = sid('owned')
    await say(id, 'private')
    const unknown = await get('/api/v1/sessions/never-existed?user_id=u2')
    expect(unknown.statusCode).toBe(404)
    const hint = (m: string, sessionId: string) => m.replace(sessionId, '<id>')

    const asB = await chat({ user_id: 'u2', session_id: id, messages: [userMsg('let me in')] })
    expect(asB.statusCode).toBe(404)
    expect(hint(asB.json().message, id)).toBe(hint(unknown.json().message, 'never-existed'))
    const read = await get(`/api/v1/sessions/${id}?user_id=u2`)
    expect(read.statusCode).toBe(404)
    expect(read.json()).toEqual({ ...unknown.json(), message: unknown.json().message.replace('never-existed', id) })
    expect((await s.app.inject({ method: 'POST', url: `/api/v1/sessions/${id}/clear?user_id=u2` })).statusCode).toBe(404)
    expect((await s.app.inject({ method: 'DELETE', url: `/api/v1/sessions/${id}?user_id=u2` })).statusCode).toBe(404)
    expect((await get('/api/v1/sessions?user_id=u2')).json().data.map((x: { session_id: string }) => x.session_id)).not.toContain(id)
    // B's streaming attempt gets the JSON 404 before any frame
    const sse = await chat({ user_id: 'u2', session_id: id, stream: true, messages: [userMsg('x')] })
    expect(sse.statusCode).toBe(404)
    // A still sees an untouched session
    const a = (await get(`/api/v1/sessions/${id}?user_id=u1`)).json().data
    expect(a.message_count).toBe(1)
    expect((await say(id, 'still mine')).json().data.content).toMatch(/^Turn 2\./)
  })

  it('a conversation made for user A cannot be continued or read by user B', async () => {
    const conv = (await chat({ messages: [userMsg('secret plans')] })).json().conversation_id
    const cont = await chat({ user_id: 'u2', conversation_id: conv, messages: [userMsg('what plans?')] })
    expect(cont.statusCode).toBe(404)
    expect(cont.json().message).not.toMatch(/another user|owner|belongs/i)
    const msgs = await get(`/api/v1/conversations/${conv}/messages?user_id=u2`)
    expect(msgs.statusCode).toBe(404)
    expect((await chat({ conversation_id: conv, messages: [userMsg('mine again')] })).statusCode).toBe(200)
  })
})

describe('/api/v1/sessions', () => {
  it('GET shows every field of the session record', async () => {
    const id = sid('info')
    const t0 = Date.now()
    const conv = (await say(id, 'hi')).json().conversation_id
    const r = await get(`/api/v1/sessions/${id}?user_id=u1`)
    expect(r.statusCode).toBe(200)
    const d = r.json().data
    expect(d).toMatchObject({ session_id: id, user_id: 'u1', bot_id: DEFAULT_BOT, conversation_id: conv, message_count: 1, status: 'active', cleared_at: null })
    for (const k of ['created_at', 'last_activity', 'expires_at']) expect(new Date(d[k]).toISOString()).toBe(d[k])
    expect(Date.parse(d.created_at)).toBeGreaterThanOrEqual(t0 - 5)
    expect(Date.parse(d.last_activity)).toBeGreaterThanOrEqual(Date.parse(d.created_at))
    expect(Date.parse(d.expires_at) - Date.parse(d.last_activity)).toBe(1800 * 1000)
  })

  it('unknown session → 404 envelope, for GET, clear and DELETE', async () => {
    for (const [method, url] of [['GET', '/api/v1/sessions/nope'], ['POST', '/api/v1/sessions/nope/clear'], ['DELETE', '/api/v1/sessions/nope']] as const) {
      const r = await s.app.inject({ method, url })
      expect(r.statusCode).toBe(404)
      expect(r.json()).toMatchObject({ success: false, data: null, code: 'NOT_FOUND' })
      expect(r.json().message).toMatch(/Session nope not found/)
    }
  })

  it('DELETE removes the session; the next chat with that id starts afresh', async () => {
    const id = sid('del')
    await say(id, 'one')
    const d = await s.app.inject({ method: 'DELETE', url: `/api/v1/sessions/${id}?user_id=u1` })
    expect(d.statusCode).toBe(200)
    expect(d.json().data).toEqual({ session_id: id, deleted: true })
    expect((await get(`/api/v1/sessions/${id}`)).statusCode).toBe(404)
    expect((await say(id, 'again')).json().data.content).toMatch(/^Turn 1\./)
  })

  it('lists a user\'s sessions, most recent first, with paging', async () => {
    const user = `lister-${Date.now()}`
    const ids = [sid('l'), sid('l'), sid('l')]
    for (const id of ids) await chat({ user_id: user, session_id: id, messages: [userMsg('hi')] })
    const p1 = (await get(`/api/v1/sessions?user_id=${user}&page_size=2`)).json()
    expect(p1.success).toBe(true)
    expect(p1.data.map((x: { session_id: string }) => x.session_id)).toEqual([ids[2], ids[1]])
    expect(p1.pagination).toEqual({ page_num: 1, page_size: 2, total_count: 3, has_more: true })
    const p2 = (await get(`/api/v1/sessions?user_id=${user}&page_size=2&page_num=2`)).json()
    expect(p2.data.map((x: { session_id: string }) => x.session_id)).toEqual([ids[0]])
    expect(p2.pagination.has_more).toBe(false)
    const none = await get('/api/v1/sessions')
    expect(none.statusCode).toBe(400)
    expect(none.json().message).toMatch(/user_id is required/)
    expect((await get(`/api/v1/sessions?user_id=${user}&page_size=0`)).statusCode).toBe(400)
  })

  it('POST creates a session with its conversation; chatting on it continues that conversation', async () => {
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: { user_id: 'u1' } })
    expect(r.statusCode).toBe(200)
    const b = r.json()
    expect(b.session_id).toMatch(/^sess_[0-9a-f]{24}$/)
    expect(b.conversation_id).toMatch(/^\d+$/)
    expect(b.data).toMatchObject({ session_id: b.session_id, conversation_id: b.conversation_id, message_count: 0 })
    expect((await say(b.session_id, 'hi')).json().conversation_id).toBe(b.conversation_id)
  })

  it('clear accepts an empty JSON body (fetch with a content-type and no body)', async () => {
    const id = sid('empty')
    await say(id, 'x')
    const r = await s.app.inject({ method: 'POST', url: `/api/v1/sessions/${id}/clear?user_id=u1`, headers: { 'content-type': 'application/json' } })
    expect(r.statusCode).toBe(200)
    const bad = await s.app.inject({ method: 'POST', url: `/api/v1/sessions/${id}/clear`, headers: { 'content-type': 'application/json' }, payload: '{oops' })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().code).toBe('INVALID_JSON')
  })
})
