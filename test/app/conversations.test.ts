// /api/v1/conversations: create, list, history with paging, ownership.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, userMsg, DEFAULT_BOT, type Stack } from '../helpers/stack.js'

let s: Stack
beforeAll(async () => { s = await startStack({ SESSION_STORE: 'memory' }) })
afterAll(async () => { await s.close() })

const post = (url: string, payload: Record<string, unknown>) => s.app.inject({ method: 'POST', url, payload })
const get = (url: string) => s.app.inject({ method: 'GET', url })

describe('/api/v1/conversations', () => {
  it('POST creates a conversation that a chat then continues (with the context it was created with)', async () => {
    const r = await post('/api/v1/conversations', { user_id: 'alice', bot_id: DEFAULT_BOT, messages: [{ role: 'user', content: 'I like tea' }, { role: 'assistant', content: 'noted' }], meta_data: { source: 'test' } })
    expect(r.statusCode).toBe(200)
    const b = r.json()
    expect(b.success).toBe(true)
    expect(b.conversation_id).toMatch(/^\d+$/)
    expect(b.data).toMatchObject({ id: b.conversation_id, conversation_id: b.conversation_id, bot_id: DEFAULT_BOT, user_id: 'alice', meta_data: { source: 'test' } })
    expect(new Date(b.data.created_at).toISOString()).toBe(b.data.created_at)
    const c = (await post('/api/v1/chat', { user_id: 'alice', conversation_id: b.conversation_id, messages: [userMsg('what do I like?')] })).json()
    expect(c.data.content).toContain('Earlier you said: "I like tea"')
  })

  it('GET ?bot_id=&user_id= lists that user\'s conversations, newest first, paged; no user_id is a 400', async () => {
    const mine = (await post('/api/v1/conversations', { user_id: 'lister' })).json().conversation_id
    const theirs = (await post('/api/v1/conversations', { user_id: 'other' })).json().conversation_id
    const newer = (await post('/api/v1/conversations', { user_id: 'lister' })).json().conversation_id
    const everyone = await get(`/api/v1/conversations?bot_id=${DEFAULT_BOT}&page_size=50`)
    expect(everyone.statusCode).toBe(400)
    expect(everyone.json().message).toMatch(/user_id is required.*account scope/)
    const listed = (await get(`/api/v1/conversations?bot_id=${DEFAULT_BOT}&user_id=lister&page_size=50`)).json()
    expect(listed.success).toBe(true)
    const ids = listed.data.map((c: { id: string }) => c.id)
    expect(ids.slice(0, 2)).toEqual([newer, mine]) // newest first
    expect(ids).not.toContain(theirs)
    for (const c of listed.data) expect(c.user_id).toBe('lister')
    const p = (await get(`/api/v1/conversations?bot_id=${DEFAULT_BOT}&user_id=lister&page_size=1`)).json()
    expect(p.data).toHaveLength(1)
    expect(p.pagination).toEqual({ page_num: 1, page_size: 1, has_more: true })
    expect((await get(`/api/v1/conversations?bot_id=${DEFAULT_BOT}&page_size=51`)).statusCode).toBe(400)
  })

  it('GET /{id}/messages returns the history, with paging, so a reload can show it', async () => {
    const sessionId = `hist-${Date.now()}`
    let conv = ''
    for (const q of ['first question', 'second question', 'third question']) {
      conv = (await post('/api/v1/chat', { user_id: 'bob', session_id: sessionId, messages: [userMsg(q)] })).json().conversation_id
    }
    const all = (await get(`/api/v1/conversations/${conv}/messages?user_id=bob&order=asc&limit=50`)).json()
    expect(all.success).toBe(true)
    const texts = all.data.map((m: { role: string, content: string }) => `${m.role}:${m.content}`)
    expect(texts[0]).toBe('user:first question')
    expect(texts[1]).toMatch(/^assistant:Turn 1\./)
    expect(texts).toHaveLength(6)
    for (const m of all.data) expect(m).toMatchObject({ conversation_id: conv, content_type: 'text' })
    expect(all.data[1].type).toBe('answer')

    // newest first (Coze's default), two at a time, older pages through before_id
    const p1 = (await get(`/api/v1/conversations/${conv}/messages?user_id=bob&limit=2`)).json()
    expect(p1.data.map((m: { content: string }) => m.content)).toEqual([all.data[5].content, all.data[4].content])
    expect(p1.pagination).toMatchObject({ has_more: true, order: 'desc', limit: 2, first_id: all.data[5].id, last_id: all.data[4].id })
    expect(p1.has_more).toBe(true)
    expect(p1.last_id).toBe(p1.pagination.last_id)
    const p2 = (await get(`/api/v1/conversations/${conv}/messages?user_id=bob&limit=2&before_id=${p1.pagination.last_id}`)).json()
    expect(p2.data.map((m: { id: string }) => m.id)).toEqual([all.data[3].id, all.data[2].id])
    const p3 = (await get(`/api/v1/conversations/${conv}/messages?user_id=bob&limit=2&before_id=${p2.pagination.last_id}`)).json()
    expect(p3.data.map((m: { id: string }) => m.id)).toEqual([all.data[1].id, all.data[0].id])
    expect(p3.pagination.has_more).toBe(false)
  })

  it('ownership: a conversation created for one user is 404 for another, with no hint', async () => {
    const conv = (await post('/api/v1/conversations', { user_id: 'owner' })).json().conversation_id
    const r = await get(`/api/v1/conversations/${conv}/messages?user_id=intruder`)
    expect(r.statusCode).toBe(404)
    expect(r.json()).toMatchObject({ success: false, code: 'NOT_FOUND', message: `Conversation ${conv} not found.` })
    const chat = await post('/api/v1/chat', { user_id: 'intruder', conversation_id: conv, messages: [userMsg('hi')] })
    expect(chat.statusCode).toBe(404)
    expect(chat.json().message).toBe(`Conversation ${conv} not found.`)
    expect((await get(`/api/v1/conversations/${conv}/messages?user_id=owner`)).statusCode).toBe(200)
  })

  it('errors: unknown conversation → 404 from Coze, bad paging → 400', async () => {
    const r = await get('/api/v1/conversations/7000000000000000001/messages')
    expect(r.statusCode).toBe(404)
    expect(r.json().success).toBe(false)
    expect((await get('/api/v1/conversations/123/messages?limit=0')).statusCode).toBe(400)
    const both = await get('/api/v1/conversations/123/messages?before_id=1&after_id=2')
    expect(both.statusCode).toBe(400)
    expect(both.json().message).toMatch(/before_id or after_id/)
  })
})
