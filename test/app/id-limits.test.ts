// Issue 18.3 and issue 11 (session ids): an id the schema accepts can be used on every
// route that takes it, up to the limit (128 characters, Chinese user names too), and
// one character over the limit is a 400 that says so, never a 414 from the router.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'

const enc = encodeURIComponent

describe('ids that are accepted can be used', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ SESSION_STORE: 'memory' }) })
  afterAll(async () => { await s.close() })

  const ids: Array<[string, string]> = [
    ['128 ASCII characters', 'a'.repeat(120) + '_.:@-xyz'],
    ['128 Chinese characters', '张'.repeat(128)],
    ['a Chinese user name with digits', '用户_王小明-2024'],
    ['128 characters of 4 UTF-8 bytes each', '𠀀'.repeat(128)]
  ]

  it.each(ids)('%s: chat, then GET, clear, the chatbot info and DELETE all work', async (_name, id) => {
    const chat = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', session_id: id, messages: [userMsg('hi')] } })
    expect(chat.statusCode).toBe(200)
    expect(chat.json().session_id).toBe(id)
    const get = await s.app.inject({ url: `/api/v1/sessions/${enc(id)}?user_id=u1` })
    expect(get.statusCode).toBe(200)
    expect(get.json().data).toMatchObject({ session_id: id, message_count: 1 })
    expect((await s.app.inject({ method: 'POST', url: `/api/v1/sessions/${enc(id)}/clear?user_id=u1` })).statusCode).toBe(200)
    expect((await s.app.inject({ url: `/session/${enc(id)}/info?user_id=u1` })).json()).toMatchObject({ session_id: id, message_count: 0 })
    expect((await s.app.inject({ method: 'DELETE', url: `/api/v1/sessions/${enc(id)}?user_id=u1` })).json().data).toEqual({ session_id: id, deleted: true })
  })

  it.each([
    ['129 characters', 'a'.repeat(129)],
    ['129 Chinese characters', '张'.repeat(129)],
    ['a space', 'my session'],
    ['a slash', 'a/b'],
    ['a percent sign', '100%'],
    ['a question mark', 'a?b'],
    ['an emoji', 'hi😀']
  ])('a session_id with %s → 400 that names the rule, on the body and in the path', async (_name, id) => {
    const chat = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', session_id: id, messages: [userMsg('hi')] } })
    expect(chat.statusCode).toBe(400)
    expect(chat.json()).toMatchObject({ code: 'VALIDATION_ERROR', message: 'Invalid request: session_id must be 1 to 128 letters (of any script), digits, _ . : @ or -' })
    const get = await s.app.inject({ url: `/api/v1/sessions/${enc(id)}` })
    expect(get.statusCode).toBe(400)
    expect(get.json().message).toContain('session_id (URL path) must be 1 to 128 letters')
  })

  it('Coze ids at 128 characters reach the handler; over it they are a 400', async () => {
    const ok = await s.app.inject({ url: `/api/v1/conversations/${'7'.repeat(128)}/messages` })
    expect(ok.json().code).not.toBe('VALIDATION_ERROR')
    const over = await s.app.inject({ url: `/api/v1/conversations/${'7'.repeat(129)}/messages` })
    expect(over.statusCode).toBe(400)
    expect(over.json().message).toContain('conversation_id (URL path) must be 1 to 128 letters, digits, _ or - (a Coze id)')
  })
})
