// Issue 11, "Messages that say what to fix": one sentence per mistake that names the field
// and the allowed values, limits named with their variable, refusals logged with their
// reason, and every timestamp the gateway answers with in ISO 8601.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'
import { branches, errorMessage, startTable, type Schema, type Table } from '../helpers/route-table.js'

const iso = (v: unknown) => typeof v === 'string' && new Date(v).toISOString() === v

describe('messages that say what to fix', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ BODY_LIMIT_KB: '16', OPENAI_IMAGE_MAX_MB: '1', SESSION_STORE: 'memory' }) })
  afterAll(async () => { await s.close() })

  const post = (url: string, payload: unknown) => s.app.inject({ method: 'POST', url, payload: payload as Record<string, unknown> })

  it.each([
    ['a wrong role', '/api/v1/chat', { user_id: 'u', messages: [{ role: 'robot', content: 'x' }] }, 'Invalid request: messages[0].role must be one of user, assistant, system'],
    ['a wrong part type', '/api/v1/chat', { user_id: 'u', messages: [{ role: 'user', content: [{ type: 'video' }] }] }, 'Invalid request: messages[0].content[0].type must be one of text, image, file, audio'],
    ['a wrong order', '/api/v1/conversations/7400000000000000001/messages?order=up', undefined, 'Invalid request: order (query string) must be one of desc, asc'],
    ['a wrong publish_status', '/api/v1/bots?workspace_id=1&publish_status=x', undefined, 'Invalid request: publish_status (query string) must be one of all, published_online, published_draft, unpublished_draft'],
    ['a missing field', '/api/v1/chat', { user_id: 'u' }, 'Invalid request: messages is required'],
    ['an empty content', '/api/v1/chat', { user_id: 'u', messages: [{ role: 'user', content: '' }] }, 'Invalid request: messages[0].content must not be empty'],
    ['a wrong role on OpenAI', '/v1/chat/completions', { messages: [{ role: 'robot', content: 'x' }] }, 'Invalid request: messages[0].role must be one of system, developer, user, assistant, tool, function']
  ])('%s: the allowed values, once', async (_name, url, payload, message) => {
    const res = payload === undefined ? await s.app.inject(url) : await post(url, payload)
    expect(res.statusCode).toBe(400)
    const body = res.json()
    expect(body.message ?? body.error.message).toBe(message)
  })

  it('a JSON body over the limit names it: BODY_LIMIT_KB, and the OpenAI route\'s own', async () => {
    const res = await post('/api/v1/chat', { user_id: 'u', messages: [userMsg('x'.repeat(20_000))] })
    expect(res.statusCode).toBe(413)
    expect(res.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: 'JSON body over 16 KB (BODY_LIMIT_KB): send less, or raise the limit.' })
    const big = await post('/v1/chat/completions', { messages: [userMsg('x'.repeat(2_000_000))] })
    expect(big.statusCode).toBe(413)
    expect(big.json().error.message).toMatch(/^JSON body over 1381 KB \(BODY_LIMIT_KB, plus room for one OPENAI_IMAGE_MAX_MB image\)/)
  })

  it('a refused request is logged at info with its reason', async () => {
    const from = s.logs.length
    await post('/api/v1/chat', { user_id: 'u', messages: [{ role: 'robot', content: 'x' }] })
    await s.app.inject({ method: 'GET', url: '/api/v1/chat' })
    const lines = s.logs.slice(from).map((l) => JSON.parse(l)).filter((l) => l.msg === 'request')
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, statusCode: 400, code: 'VALIDATION_ERROR', reason: 'Invalid request: messages[0].role must be one of user, assistant, system' }),
      expect.objectContaining({ level: 30, statusCode: 405, code: 'METHOD_NOT_ALLOWED', reason: expect.stringContaining('use POST') })
    ])
  })

  it('every gateway timestamp is ISO 8601: conversations, messages, workflow runs, bots (uploads and cancel: in their own tests)', async () => {
    const conv = (await post('/api/v1/conversations', { user_id: 'u' })).json()
    expect(iso(conv.data.created_at)).toBe(true)
    const list = (await s.app.inject('/api/v1/conversations?user_id=u')).json()
    expect(list.data.length).toBeGreaterThan(0)
    expect(list.data.every((c: { created_at: unknown }) => iso(c.created_at))).toBe(true)

    await post('/api/v1/chat', { user_id: 'u', conversation_id: conv.conversation_id, messages: [userMsg('hi')] })
    const msgs = (await s.app.inject(`/api/v1/conversations/${conv.conversation_id}/messages?user_id=u`)).json()
    expect(msgs.data.length).toBeGreaterThan(0)
    expect(msgs.data.every((m: { created_at: unknown }) => iso(m.created_at))).toBe(true)

    const run = (await post('/api/v1/workflows/wf-echo/run', { parameters: {}, is_async: true })).json()
    const state = (await s.app.inject(`/api/v1/workflows/wf-echo/runs/${run.data.execute_id}`)).json()
    expect(iso(state.data.created_at)).toBe(true)
    expect(iso(state.data.updated_at)).toBe(true)

    const bots = (await s.app.inject('/api/v1/bots?workspace_id=7500000000000000101')).json()
    expect(bots.data.length).toBeGreaterThan(0)
    for (const b of bots.data) {
      expect(b.published_at === null || iso(b.published_at)).toBe(true)
      expect(b.updated_at === null || iso(b.updated_at)).toBe(true)
    }
    expect(bots.data.some((b: { updated_at: unknown }) => iso(b.updated_at))).toBe(true)
    const bot = (await s.app.inject('/api/v1/bots/bot-tool')).json()
    expect(bot.data.updated_at === null || iso(bot.data.updated_at)).toBe(true)
  })
})

describe('derived from the OpenAPI document', () => {
  let t: Table
  beforeAll(async () => { t = await startTable({ DEFAULT_USER_ID: 'msg-user', SESSION_STORE: 'memory' }) })
  afterAll(async () => { await t.close() })

  /** The values a field allows, when it is a choice between constants. */
  const choices = (prop: Schema): string[] | undefined => {
    const bs = branches(prop)
    const values = bs.flatMap((b) => b.const !== undefined ? [b.const] : b.enum ?? [])
    return values.length > 1 && bs.every((b) => b.const !== undefined || b.enum !== undefined) ? values.map(String) : undefined
  }

  it('every choice between constants in a JSON body (anyOf/const, enum) is refused with its allowed values, once', async () => {
    const failures: string[] = []
    let count = 0
    for (const op of t.ops) {
      const walk = async (schema: Schema, prefix: string, shown: string) => {
        for (const [key, prop] of Object.entries(schema.properties ?? {})) {
          const allowed = choices(prop)
          if (allowed) {
            count++
            const wrong = typeof [branches(prop)[0]!.const ?? branches(prop)[0]!.enum?.[0]][0] === 'number' ? 12345 : 'not-a-choice'
            const res = await t.inject(op.route, { body: { [`${prefix}${key}`]: wrong } })
            const expected = `${shown}${key} must be one of ${allowed.join(', ')}`
            if (res.statusCode !== 400 || !errorMessage(res).endsWith(expected)) failures.push(`${op.route}: ${res.statusCode} ${errorMessage(res)} (expected …${expected})`)
          }
          if (prop.type === 'array' && prop.items?.properties && (schema.required ?? []).includes(key)) await walk(prop.items, `${prefix}${key}.0.`, `${shown}${key}[0].`)
        }
      }
      if (op.json) await walk(op.json, '', '')
    }
    expect(failures).toEqual([])
    expect(count).toBeGreaterThanOrEqual(4)
  })

  it('every timestamp field the gateway answers with is declared ISO 8601 (date-time)', async () => {
    const doc = (await t.stackOf('POST /api/v1/auth/token').app.inject('/docs/json')).json()
    const bad: string[] = []
    const seen = new Set<unknown>()
    const visit = (node: unknown, where: string) => {
      if (!node || typeof node !== 'object' || seen.has(node)) return
      seen.add(node)
      const o = node as Record<string, unknown>
      for (const [name, prop] of Object.entries((o.properties ?? {}) as Record<string, Schema & { format?: string }>)) {
        // Coze's own names for its unix seconds (none are answered today) and OpenAI's `created` are left alone.
        const isNull = (b: Schema) => b.type === 'null' || (b.enum?.length === 1 && b.enum[0] === null)
        if (/(_at|_time|^timestamp|^last_checked|^last_activity)$/.test(name) && !branches(prop).every((b) => isNull(b) || (b.type === 'string' && (b as { format?: string }).format === 'date-time'))) bad.push(`${where} ${name}`)
      }
      for (const v of Object.values(o)) visit(v, where)
    }
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses?: unknown }>>)) {
      for (const [method, op] of Object.entries(ops)) visit(op.responses, `${method.toUpperCase()} ${path}`)
    }
    visit(doc.components, 'components')
    expect(bad).toEqual([])
    expect(seen.size).toBeGreaterThan(100)
  })
})
