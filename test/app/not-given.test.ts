// Issue 11: on every route, a JSON null for an optional field means "not given" (and so
// does an empty string where the field refuses one, e.g. an optional id), in bodies, query
// strings and form fields. The table is derived from the OpenAPI document: every optional
// field of every route is a row, so a new optional field is covered by construction. Each
// row sends the fixture's request (which succeeds) with the field left out and with the
// field null (or ""), and expects the same answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { userMsg } from '../helpers/stack.js'
import { branches, errorCode, FIXTURES, optional, startTable, takesInput, types, type Operation, type Schema, type Table } from '../helpers/route-table.js'

const acceptsNull = (s: Schema) => branches(s).some((b) => [b.type].flat().includes('null') || b.nullable === true)
const refusesEmpty = (s: Schema) => branches(s).every((b) => ![b.type].flat().includes('string') || (b.minLength ?? 0) > 0 || (b.pattern !== undefined && !new RegExp(b.pattern, 'u').test('')))

interface Row { route: string, where: 'body' | 'query' | 'form', field: string, value: null | '' }

/** Rows for the optional fields of an object schema, and of the objects in its required arrays (messages[0].content_type). */
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

function rowsOf (op: Operation): Row[] {
  const rows = op.json ? bodyRows(op.route, op.json) : []
  // Text parts: there is no null, and an empty value is "not given".
  for (const p of op.query) if (!p.required || p.schema.default !== undefined) rows.push({ route: op.route, where: 'query', field: p.name, value: '' })
  for (const key of Object.keys(op.form?.properties ?? {})) if (optional(op.form!, key)) rows.push({ route: op.route, where: 'form', field: key, value: '' })
  return rows
}

describe('null (and "" for an optional id) means "not given", on every route', () => {
  let t: Table
  let ops: Operation[] = []
  const rows: Row[] = []

  beforeAll(async () => {
    t = await startTable({ DEFAULT_USER_ID: 'null-rule-user', SESSION_STORE: 'memory' })
    ops = t.ops
    for (const op of ops) rows.push(...rowsOf(op))
  })
  afterAll(async () => { await t.close() })

  const send = async (row: Row, given: boolean) => t.inject(row.route, !given
    ? {}
    : row.where === 'body' ? { body: { [row.field]: row.value } } : row.where === 'query' ? { query: { [row.field]: '' } } : { fields: { [row.field]: '' } })

  it('the table covers every route that takes input, and each has a fixture', () => {
    expect(ops.filter(takesInput).map((o) => o.route).filter((r) => !FIXTURES[r])).toEqual([])
    // The frontends' fields of issue 11 and the new routes, so the derivation cannot silently shrink.
    for (const [route, field] of [['POST /api/v1/chat', 'conversation_id'], ['POST /api/v1/chat', 'bot_id'], ['POST /api/v1/chat', 'user_id'],
      ['POST /api/v1/chat', 'session_id'], ['POST /api/v1/chat', 'custom_variables'], ['POST /v1/chat/completions', 'user'],
      ['POST /api/v1/workflows/{workflow_id}/run', 'bot_id'], ['POST /api/v1/chat/tool-outputs', 'user_id'], ['POST /api/v1/chat', 'messages.0.content_type'],
      ['POST /api/v1/workflows/{workflow_id}/chat', 'conversation_id'], ['POST /api/v1/workflows/{workflow_id}/chat', 'app_id'],
      ['POST /api/v1/audio/speech', 'response_format'], ['POST /v1/audio/speech', 'speed'], ['POST /api/v1/auth/token', 'ttl_seconds']]) {
      expect(rows.some((r) => r.route === route && r.field === field && r.value === null), `${route} ${field}`).toBe(true)
    }
    for (const [route, where, field] of [['POST /api/v1/upload', 'form', 'description'], ['GET /api/v1/conversations', 'query', 'user_id'], ['GET /api/v1/audio/voices', 'query', 'page_size']]) {
      expect(rows.some((r) => r.route === route && r.where === where && r.field === field), `${route} ${field}`).toBe(true)
    }
    expect(rows.length).toBeGreaterThan(80)
  })

  it('every row answers as if the field were left out, and that answer is a success', async () => {
    const failures: string[] = []
    for (const row of rows) {
      const [without, withIt] = [await send(row, false), await send(row, true)]
      if (without.statusCode >= 400) failures.push(`${row.route}: the fixture itself fails: ${without.statusCode} ${without.body.slice(0, 160)}`)
      else if (withIt.statusCode !== without.statusCode || errorCode(withIt) !== errorCode(without)) {
        failures.push(`${row.route} ${row.where} ${row.field}=${JSON.stringify(row.value)}: ${withIt.statusCode} ${withIt.body.slice(0, 160)} (left out: ${without.statusCode})`)
      }
    }
    expect([...new Set(failures)]).toEqual([])
  }, 240_000)

  it('the product docs\' React/Vue first turn: conversation_id null creates the conversation', async () => {
    const res = await t.stackOf('POST /api/v1/chat').app.inject({ method: 'POST', url: '/api/v1/chat', payload: { bot_id: null, user_id: null, conversation_id: null, messages: [userMsg('你好')] } })
    expect(res.statusCode).toBe(200)
    expect(res.json().conversation_id).toMatch(/^\d+$/)
  })
})
