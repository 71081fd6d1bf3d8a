// Issue 18.1: client input never causes a 5xx. Each row is a request and the 4xx it gets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { CHATFLOW_ECHO_ID, DEFAULT_VOICE_ID } from '../../src/emulator/index.js'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'
import { startTable, types } from '../helpers/route-table.js'

let deep = '{"a":1}'
for (let i = 0; i < 5000; i++) deep = `{"a":${deep}}`
const json = (url: string, text: string): InjectOptions => ({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: text })
const multipart = (contentType: string, body: string, url = '/api/v1/upload'): InjectOptions => ({ method: 'POST', url, headers: { 'content-type': contentType }, payload: body })
const PART = '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\nhello'
const UPLOADS = ['/api/v1/upload', '/api/v1/audio/transcriptions']
const BAD_NUMBERS = ['Infinity', '-Infinity', '99999999999999999999', '1.5', '0']

type Row = [string, InjectOptions, number, string, RegExp]

const rows: Row[] = [
  ['workflow parameters nested 5,000 deep', json('/api/v1/workflows/wf-echo/run', `{"parameters":${deep}}`), 400, 'VALIDATION_ERROR', /nested deeper than 64 levels/],
  ['execute inputs nested 5,000 deep', json('/api/v1/workflows/wf-echo/execute', `{"inputs":${deep}}`), 400, 'VALIDATION_ERROR', /nested deeper than 64 levels/],
  ['chatflow parameters nested 5,000 deep', json(`/api/v1/workflows/${CHATFLOW_ECHO_ID}/chat`, `{"messages":[{"role":"user","content":"x"}],"parameters":${deep}}`), 400, 'VALIDATION_ERROR', /nested deeper than 64 levels/],
  ['chat meta_data nested 5,000 deep', json('/api/v1/chat', `{"messages":[{"role":"user","content":"x"}],"meta_data":${deep}}`), 400, 'VALIDATION_ERROR', /nested deeper than 64 levels/],
  ...UPLOADS.flatMap((url): Row[] => [
    [`${url}: multipart with no boundary`, multipart('multipart/form-data', PART, url), 400, 'VALIDATION_ERROR', /boundary/i],
    [`${url}: multipart that ends early`, multipart('multipart/form-data; boundary=XX', PART, url), 400, 'VALIDATION_ERROR', /Malformed multipart/]
  ]),
  ['/v1/audio/transcriptions: multipart that ends early', multipart('multipart/form-data; boundary=XX', PART, '/v1/audio/transcriptions'), 400, 'validation_error', /Malformed multipart/],
  ['__proto__ in a valid JSON body', json('/api/v1/chat', '{"user_id":"u1","__proto__":{"admin":true},"messages":[{"role":"user","content":"x"}]}'), 400, 'VALIDATION_ERROR', /keys named __proto__ are not accepted/],
  ['constructor.prototype in a valid JSON body', json('/api/v1/chat', '{"user_id":"u1","constructor":{"prototype":{"admin":true}},"messages":[{"role":"user","content":"x"}]}'), 400, 'VALIDATION_ERROR', /"constructor" object with a "prototype" key/],
  ['malformed JSON', json('/api/v1/chat', '{"messages": ['), 400, 'INVALID_JSON', /Malformed JSON body/],
  ['__proto__ on the OpenAI route', json('/v1/chat/completions', '{"__proto__":{},"messages":[{"role":"user","content":"x"}]}'), 400, 'validation_error', /__proto__/],
  ['__proto__ on the speech route', json('/api/v1/audio/speech', `{"input":"hi","voice_id":"${DEFAULT_VOICE_ID}","__proto__":{}}`), 400, 'VALIDATION_ERROR', /__proto__/]
]

describe('client input never causes a 5xx', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ DEFAULT_USER_ID: 'u1', SESSION_STORE: 'memory' }) })
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

  it('every number in a query string (paging: page_num, page_size, limit) is bounded: Infinity, 1e20, 1.5 or 0 is a 400 naming it, before Coze', async () => {
    const t = await startTable({ DEFAULT_USER_ID: 'u1', SESSION_STORE: 'memory' })
    const ops = t.ops.map((op) => ({ ...op, numbers: op.query.filter((p) => types(p.schema).some((type) => type === 'integer' || type === 'number')) }))
    const paged = ops.flatMap((op) => op.numbers.map((p) => `${op.route} ${p.name}`))
    // The routes of the probe, and the new ones, so the derivation cannot silently shrink.
    for (const r of ['GET /api/v1/workspaces page_num', 'GET /api/v1/conversations page_size', 'GET /api/v1/bots page_num', 'GET /api/v1/sessions page_size',
      'GET /api/v1/conversations/{conversation_id}/messages limit', 'GET /api/v1/audio/voices page_num']) expect(paged).toContain(r)
    const failures: string[] = []
    for (const op of ops) {
      for (const p of op.numbers) {
        for (const v of BAD_NUMBERS) {
          const send = await t.prepare(op.route, { query: { [p.name]: v } })
          const emu = t.stackOf(op.route).emu
          const before = emu.requests.length
          const res = await send()
          if (res.statusCode !== 400 || res.json().code !== 'VALIDATION_ERROR' || !String(res.json().message).includes(p.name) || emu.requests.length !== before) {
            failures.push(`${op.route} ${p.name}=${v}: ${res.statusCode} ${res.body.slice(0, 120)}`)
          }
        }
      }
    }
    await t.close()
    expect(failures).toEqual([])
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
