// Issue 18.1: client input never causes a 5xx. Each row is a request and the 4xx it gets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'

let deep = '{"a":1}'
for (let i = 0; i < 5000; i++) deep = `{"a":${deep}}`
const json = (url: string, text: string): InjectOptions => ({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: text })
const multipart = (contentType: string, body: string): InjectOptions => ({ method: 'POST', url: '/api/v1/upload', headers: { 'content-type': contentType }, payload: body })
const PART = '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello'

const PAGED = [
  '/api/v1/workspaces?page_num=%s',
  '/api/v1/workspaces?page_size=%s',
  '/api/v1/conversations?page_num=%s',
  '/api/v1/conversations?page_size=%s',
  '/api/v1/bots?workspace_id=7500000000000000101&page_num=%s',
  '/api/v1/bots?workspace_id=7500000000000000101&page_size=%s',
  '/api/v1/sessions?user_id=u1&page_num=%s',
  '/api/v1/sessions?user_id=u1&page_size=%s',
  '/api/v1/conversations/7400000000000000001/messages?limit=%s'
]

const rows: Array<[string, InjectOptions, number, string, RegExp]> = [
  ...PAGED.flatMap((url) => ['Infinity', '-Infinity', '99999999999999999999', '1.5', '0'].map((v): [string, InjectOptions, number, string, RegExp] =>
    [`${url.replace('%s', v)}`, { url: url.replace('%s', v) }, 400, 'VALIDATION_ERROR', /page_num|page_size|limit/])),
  ['workflow parameters nested 5,000 deep', json('/api/v1/workflows/wf-echo/run', `{"parameters":${deep}}`), 400, 'VALIDATION_ERROR', /nested deeper than 64 levels/],
  ['execute inputs nested 5,000 deep', json('/api/v1/workflows/wf-echo/execute', `{"inputs":${deep}}`), 400, 'VALIDATION_ERROR', /nested deeper than 64 levels/],
  ['chat meta_data nested 5,000 deep', json('/api/v1/chat', `{"messages":[{"role":"user","content":"x"}],"meta_data":${deep}}`), 400, 'VALIDATION_ERROR', /nested deeper than 64 levels/],
  ['multipart with no boundary', multipart('multipart/form-data', PART), 400, 'VALIDATION_ERROR', /boundary/i],
  ['multipart that ends early', multipart('multipart/form-data; boundary=XX', PART), 400, 'VALIDATION_ERROR', /Malformed multipart/],
  ['__proto__ in a valid JSON body', json('/api/v1/chat', '{"user_id":"u1","__proto__":{"admin":true},"messages":[{"role":"user","content":"x"}]}'), 400, 'VALIDATION_ERROR', /keys named __proto__ are not accepted/],
  ['constructor.prototype in a valid JSON body', json('/api/v1/chat', '{"user_id":"u1","constructor":{"prototype":{"admin":true}},"messages":[{"role":"user","content":"x"}]}'), 400, 'VALIDATION_ERROR', /"constructor" object with a "prototype" key/],
  ['malformed JSON', json('/api/v1/chat', '{"messages": ['), 400, 'INVALID_JSON', /Malformed JSON body/],
  ['__proto__ on the OpenAI route', json('/v1/chat/completions', '{"__proto__":{},"messages":[{"role":"user","content":"x"}]}'), 400, 'validation_error', /__proto__/]
]

describe('client input never causes a 5xx', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ SESSION_STORE: 'memory' }) })
  afterAll(async () => { await s.close() })

  it.each(rows)('%s → %i %s', async (_name, req, status, code, message) => {
    const before = s.emu.requests.length
    const res = await s.app.inject(req)
    expect(res.statusCode).toBe(status)
    const body = res.json()
    expect(body.code ?? body.error?.code).toBe(code)
    expect(body.message ?? body.error?.message).toMatch(message)
    expect(s.emu.requests.length).toBe(before)
  })

  it('a JSON body nested 64 deep is still accepted', async () => {
    let v = '"leaf"'
    for (let i = 0; i < 62; i++) v = `{"a":${v}}`
    const res = await s.app.inject(json('/api/v1/workflows/wf-echo/run', `{"parameters":${v}}`))
    expect(res.statusCode).toBe(200)
    expect(res.json().data.status).toBe('completed')
  })

  it('paging at its bounds works', async () => {
    expect((await s.app.inject('/api/v1/workspaces?page_num=100000&page_size=50')).statusCode).toBe(200)
    const res = await s.app.inject('/api/v1/sessions?user_id=u1&page_num=100000&page_size=100')
    expect(res.statusCode).toBe(200)
    expect(res.json().pagination).toMatchObject({ page_num: 100000, page_size: 100 })
    expect((await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', messages: [userMsg('x')] } })).statusCode).toBe(200)
  })
})
