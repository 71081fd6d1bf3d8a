// Issue 18.8: types are what the schema says. A JSON body is never coerced ("true", 1 or
// [true] is not a boolean; ["a"] is not a string); query strings and path parameters,
// which arrive as text, still are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'

const chat = { user_id: 'u1', messages: [userMsg('hi')] }

const rows: Array<[string, string, Record<string, unknown>, string]> = [
  ['stream: "true"', '/api/v1/chat', { ...chat, stream: 'true' }, 'stream must be boolean'],
  ['stream: 1', '/api/v1/chat', { ...chat, stream: 1 }, 'stream must be boolean'],
  ['stream: [true]', '/api/v1/chat', { ...chat, stream: [true] }, 'stream must be boolean'],
  ['user_id: ["a"]', '/api/v1/chat', { ...chat, user_id: ['a'] }, 'user_id must be string'],
  ['user_id: 42', '/api/v1/chat', { ...chat, user_id: 42 }, 'user_id must be string'],
  ['auto_save_history: "false"', '/api/v1/chat', { ...chat, auto_save_history: 'false' }, 'auto_save_history must be boolean'],
  ['content: 7', '/api/v1/chat', { user_id: 'u1', messages: [{ role: 'user', content: 7 }] }, 'messages[0].content must be array or string'],
  ['is_async: "true"', '/api/v1/workflows/wf-echo/run', { is_async: 'true' }, 'is_async must be boolean'],
  ['interrupt_type: "2"', '/api/v1/workflows/wf-interrupt/resume', { event_id: 'e', resume_data: 'x', interrupt_type: '2' }, 'interrupt_type must be integer'],
  ['tool-outputs stream: "true"', '/api/v1/chat/tool-outputs', { conversation_id: 'c', chat_id: 'x', tool_outputs: [{ tool_call_id: 't', output: 'o' }], stream: 'true' }, 'stream must be boolean'],
  ['/chat message: ["hi"]', '/chat', { message: ['hi'] }, 'message must be string'],
  ['/v1/chat/completions stream: "true"', '/v1/chat/completions', { messages: [userMsg('hi')], stream: 'true' }, 'stream must be boolean or null']
]

describe('a JSON body is taken as typed', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ SESSION_STORE: 'memory' }) })
  afterAll(async () => { await s.close() })

  it.each(rows)('%s → 400, and Coze is not called', async (_name, url, payload, message) => {
    const before = s.emu.requests.length
    const res = await s.app.inject({ method: 'POST', url, payload })
    expect(res.statusCode).toBe(400)
    expect(String(res.headers['content-type'])).toContain('application/json')
    const body = res.json()
    expect(body.message ?? body.detail ?? body.error?.message).toContain(message)
    expect(s.emu.requests.length).toBe(before)
  })

  it('query strings and path parameters are still read from text', async () => {
    const res = await s.app.inject('/api/v1/workspaces?page_num=1&page_size=5')
    expect(res.statusCode).toBe(200)
    expect(res.json().pagination).toMatchObject({ page_num: 1, page_size: 5 })
    const bots = await s.app.inject('/api/v1/bots?workspace_id=7500000000000000101&page_size=2')
    expect(bots.json().pagination.page_size).toBe(2)
  })

  it('the documented types still work: a one-part content array stays an array', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', stream: false, messages: [{ role: 'user', content: [{ type: 'text', text: 'only text' }] }] } })
    expect(res.statusCode).toBe(200)
    expect(res.json().data.content).toContain('only text')
  })
})
