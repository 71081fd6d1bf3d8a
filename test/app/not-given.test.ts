// Issue 11: on every route, a JSON null for an optional field means "not given" (and so
// does an empty string where the field refuses one, e.g. an optional id), in bodies and
// query strings. The table is derived from the OpenAPI document: every optional field of
// every route is a row, so a new optional field is covered by construction. Each row
// sends the same request with the field left out and with the field null (or ""), and
// expects the same answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'

type Json = Record<string, unknown>
type Schema = { type?: string | string[], properties?: Record<string, Schema>, required?: string[], items?: Schema, anyOf?: Schema[], minLength?: number, pattern?: string, default?: unknown, nullable?: boolean }

interface Fixture {
  /** Path parameters (fresh ones for routes that use up what they name, e.g. DELETE). */
  params?: (s: Stack) => Promise<Record<string, string>> | Record<string, string>
  /** The required part of the body, to which each row adds its field. */
  body?: (s: Stack) => Promise<Json> | Json
  query?: Record<string, string>
}

let sessionId = ''
let conversationId = ''

const newSession = async (s: Stack) => (await s.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: {} })).json().session_id as string
const toolChat = async (s: Stack) => {
  const d = (await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { bot_id: 'bot-tool', messages: [userMsg('Paris')] } })).json().data
  return { conversation_id: d.conversation_id, chat_id: d.chat_id, tool_outputs: [{ tool_call_id: d.tool_calls[0].id, output: 'sunny' }] }
}

/** The required inputs of each route that has optional fields. A route missing here fails the test. */
const FIXTURES: Record<string, Fixture> = {
  'GET /api/v1/workspaces': {},
  'POST /api/v1/chat': { body: () => ({ messages: [userMsg('hi')] }) },
  'POST /api/v1/sessions': { body: () => ({}) },
  'GET /api/v1/sessions': {},
  'GET /api/v1/sessions/{session_id}': { params: () => ({ session_id: sessionId }) },
  'DELETE /api/v1/sessions/{session_id}': { params: async (s) => ({ session_id: await newSession(s) }) },
  'POST /api/v1/sessions/{session_id}/clear': { params: () => ({ session_id: sessionId }), body: () => ({}) },
  'POST /api/v1/conversations': { body: () => ({}) },
  'GET /api/v1/conversations': {},
  'GET /api/v1/conversations/{conversation_id}/messages': { params: () => ({ conversation_id: conversationId }) },
  'POST /chat': { body: () => ({ message: 'hi' }) },
  'POST /chat/stream': { body: () => ({ message: 'hi' }) },
  'GET /session/{session_id}/info': { params: () => ({ session_id: sessionId }) },
  'POST /session/{session_id}/clear': { params: () => ({ session_id: sessionId }) },
  'POST /v1/chat/completions': { body: () => ({ messages: [userMsg('hi')] }) },
  'POST /api/v1/chat/tool-outputs': { body: toolChat },
  'POST /api/v1/chat/cancel': { body: async (s) => { const t = await toolChat(s); return { conversation_id: t.conversation_id, chat_id: t.chat_id } } },
  'POST /api/v1/workflows/{workflow_id}/run': { params: () => ({ workflow_id: 'wf-echo' }), body: () => ({}) },
  'POST /api/v1/workflows/{workflow_id}/execute': { params: () => ({ workflow_id: 'wf-echo' }), body: () => ({}) },
  'GET /api/v1/bots': { query: { workspace_id: '7500000000000000101' } }
}

const branches = (s: Schema): Schema[] => s.anyOf ? s.anyOf.flatMap(branches) : [s]
const types = (s: Schema) => branches(s).flatMap((b) => [b.type ?? []].flat())
const acceptsNull = (s: Schema) => branches(s).some((b) => [b.type].flat().includes('null') || b.nullable === true)
const refusesEmpty = (s: Schema) => branches(s).every((b) => ![b.type].flat().includes('string') || (b.minLength ?? 0) > 0 || (b.pattern !== undefined && !new RegExp(b.pattern, 'u').test('')))
const optional = (obj: Schema, key: string) => !(obj.required ?? []).includes(key) || obj.properties?.[key]?.default !== undefined

interface Row { route: string, where: 'body' | 'query', field: string, value: null | '' }

/** Rows for the optional fields of an object schema, and of the objects in its arrays (messages[0].content_type). */
function bodyRows (route: string, schema: Schema, prefix = ''): Row[] {
  const rows: Row[] = []
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const field = `${prefix}${key}`
    if (optional(schema, key)) {
      if (!acceptsNull(prop)) rows.push({ route, where: 'body', field, value: null })
      if (types(prop).includes('string') && refusesEmpty(prop)) rows.push({ route, where: 'body', field, value: '' })
    }
    // The fixtures' arrays of objects (messages), not the alternative forms of a union.
    if (prop.type === 'array' && prop.items?.properties && !optional(schema, key)) rows.push(...bodyRows(route, prop.items, `${field}.0.`))
  }
  return rows
}

function set (body: Json, path: string, value: unknown): Json {
  const copy = structuredClone(body)
  const keys = path.split('.')
  let o: Record<string, unknown> = copy
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>
  o[keys.at(-1)!] = value
  return copy
}

describe('null (and "" for an optional id) means "not given", on every route', () => {
  let s: Stack
  let doc: { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema: Schema }> }, parameters?: Array<{ in: string, name: string, required?: boolean, schema: Schema }> }>> }
  const rows: Row[] = []

  beforeAll(async () => {
    s = await startStack({ DEFAULT_USER_ID: 'null-rule-user', SESSION_STORE: 'memory' })
    doc = (await s.app.inject('/docs/json')).json()
    sessionId = await newSession(s)
    conversationId = (await s.app.inject({ method: 'POST', url: '/api/v1/conversations', payload: {} })).json().conversation_id
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const route = `${method.toUpperCase()} ${path}`
        const body = op.requestBody?.content?.['application/json']?.schema
        if (body) rows.push(...bodyRows(route, body))
        for (const p of op.parameters ?? []) {
          if (p.in === 'query' && (!p.required || p.schema.default !== undefined)) rows.push({ route, where: 'query', field: p.name, value: '' })
        }
      }
    }
  })
  afterAll(async () => { await s.close() })

  async function send (row: Row, variant: boolean) {
    const [method, path] = row.route.split(' ') as [string, string]
    const f = FIXTURES[row.route]!
    const params = await f.params?.(s) ?? {}
    const url = path.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(params[k]!))
    const query = new URLSearchParams(f.query ?? {})
    if (variant && row.where === 'query') query.set(row.field, '')
    let payload = await f.body?.(s)
    if (variant && row.where === 'body') payload = set(payload ?? {}, row.field, row.value)
    const qs = query.toString()
    return s.app.inject({ method: method as 'GET', url: `${url}${qs ? `?${qs}` : ''}`, ...(payload ? { payload } : {}) })
  }

  it('the table covers every route with optional fields, and each such route has a fixture', () => {
    const routes = new Set(rows.map((r) => r.route))
    expect([...routes].filter((r) => !FIXTURES[r])).toEqual([])
    // The frontends' fields of issue 11, so the derivation cannot silently shrink.
    for (const [route, field] of [['POST /api/v1/chat', 'conversation_id'], ['POST /api/v1/chat', 'bot_id'], ['POST /api/v1/chat', 'user_id'],
      ['POST /api/v1/chat', 'session_id'], ['POST /api/v1/chat', 'custom_variables'], ['POST /v1/chat/completions', 'user'],
      ['POST /api/v1/workflows/{workflow_id}/run', 'bot_id'], ['POST /api/v1/chat/tool-outputs', 'user_id'], ['POST /api/v1/chat', 'messages.0.content_type']]) {
      expect(rows.some((r) => r.route === route && r.field === field && r.value === null)).toBe(true)
    }
    expect(rows.length).toBeGreaterThan(50)
  })

  it('every row answers as if the field were left out', async () => {
    const failures: string[] = []
    for (const row of rows) {
      const [without, withIt] = [await send(row, false), await send(row, true)]
      const code = (r: typeof without) => String(r.headers['content-type']).includes('json') ? (r.json().code ?? r.json().error?.code ?? null) : null
      if (withIt.statusCode !== without.statusCode || code(withIt) !== code(without)) {
        failures.push(`${row.route} ${row.where} ${row.field}=${JSON.stringify(row.value)}: ${withIt.statusCode} ${withIt.body.slice(0, 160)} (left out: ${without.statusCode})`)
      }
    }
    expect(failures).toEqual([])
  }, 120_000)

  it('the product docs\' React/Vue first turn: conversation_id null creates the conversation', async () => {
    const res = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { bot_id: null, user_id: null, conversation_id: null, messages: [userMsg('你好')] } })
    expect(res.statusCode).toBe(200)
    expect(res.json().conversation_id).toMatch(/^\d+$/)
  })
})
