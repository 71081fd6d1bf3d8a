// Issue 18.8: types are what the schema says. A JSON body is never coerced ("true", 1 or
// [true] is not a boolean; ["a"] is not a string); query strings and path parameters,
// which arrive as text, still are. The named rows below are the probe's; the derived table
// takes every typed field of every JSON body in the OpenAPI document, so new routes and
// fields are covered by construction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'
import { branches, errorMessage, startTable, types, type Schema, type Table } from '../helpers/route-table.js'

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

/** What Ajv's old coerceTypes: 'array' would have turned into a valid value of `s`, or undefined. */
function coercible (s: Schema): unknown {
  const t = types(s)
  const example = branches(s).map((b) => b.const ?? b.enum?.[0] ?? b.default ?? b.examples?.[0]).find((v) => v !== undefined)
  if (t.includes('string') || t.includes('object')) {
    // A string (or a string map) wrapped in an array: ["a"] became "a".
    return t.includes('array') || !t.includes('string') ? undefined : [typeof example === 'string' ? example : 'x']
  }
  if (t.includes('boolean')) return String(example ?? true)
  if (t.includes('integer') || t.includes('number')) return String(example ?? 1)
  return undefined
}

/** Field names as the gateway's messages write them: messages[0].role */
const display = (path: string) => path.replace(/\.(\d+)\./g, '[$1].')

describe('no coercion in any JSON body (derived from the OpenAPI document)', () => {
  let t: Table
  const rows: Array<{ route: string, field: string, value: unknown }> = []
  beforeAll(async () => {
    t = await startTable({ DEFAULT_USER_ID: 'types-user', SESSION_STORE: 'memory' })
    for (const op of t.ops) {
      const walk = (schema: Schema, prefix: string) => {
        for (const [key, prop] of Object.entries(schema.properties ?? {})) {
          const value = coercible(prop)
          if (value !== undefined) rows.push({ route: op.route, field: `${prefix}${key}`, value })
          if (prop.type === 'array' && prop.items?.properties && (schema.required ?? []).includes(key)) walk(prop.items, `${prefix}${key}.0.`)
        }
      }
      if (op.json) walk(op.json, '')
    }
  })
  afterAll(async () => { await t.close() })

  it('covers the new routes too', () => {
    for (const [route, field] of [['POST /api/v1/workflows/{workflow_id}/chat', 'stream'], ['POST /api/v1/audio/speech', 'speed'], ['POST /api/v1/audio/speech', 'sample_rate'],
      ['POST /v1/audio/speech', 'voice'], ['POST /api/v1/chat', 'messages.0.role'], ['POST /chat', 'session_id'], ['POST /api/v1/auth/token', 'ttl_seconds']]) {
      expect(rows.some((r) => r.route === route && r.field === field), `${route} ${field}`).toBe(true)
    }
    expect(rows.length).toBeGreaterThan(60)
  })

  it('a value of the wrong type is a 400 that names the field, and Coze is not called', async () => {
    const failures: string[] = []
    for (const row of rows) {
      const send = await t.prepare(row.route, { body: { [row.field]: row.value } })
      const emu = t.stackOf(row.route).emu
      const before = emu.requests.length
      const res = await send()
      const message = res.statusCode === 400 ? errorMessage(res) : ''
      if (res.statusCode !== 400 || !message.includes(`${display(row.field)} must be`) || emu.requests.length !== before) {
        failures.push(`${row.route} ${row.field}=${JSON.stringify(row.value)}: ${res.statusCode} ${message || res.body.slice(0, 120)}`)
      }
    }
    expect(failures).toEqual([])
  }, 240_000)
})
