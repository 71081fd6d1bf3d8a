// Sessions and conversations are owned by key and user_id together: key B never sees key
// A's, on any surface. Without keys, a request that does not name the owner (user_id
// left out) sees nothing that has one: the outside probe's three findings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import OpenAI from 'openai'
import { rejection } from '../helpers/openai.js'
import { startStack, DEFAULT_BOT, userMsg, type Stack } from '../helpers/stack.js'
import { bearer, writeKeysFile, type KeysFile, type TestKey } from '../helpers/keys.js'

const A = 'cgw_owner_key_A_aaaaaaaaaaaaaaaaaaaaaaaa'
const B = 'cgw_owner_key_B_bbbbbbbbbbbbbbbbbbbbbbbb'
const ADMIN = 'cgw_owner_key_admin_cccccccccccccccccccc'
const everything = { scopes: ['chat', 'sessions', 'openai'] as TestKey['scopes'], bots: ['*'] }

describe('ownership across two keys, with the same user_id', () => {
  let s: Stack
  let url: string
  let file: KeysFile
  beforeAll(async () => {
    file = writeKeysFile([{ id: 'a', raw: A, ...everything }, { id: 'b', raw: B, ...everything }, { id: 'admin', raw: ADMIN, scopes: ['sessions', 'account'], bots: ['*'] }])
    s = await startStack({ GATEWAY_KEYS_FILE: file.path })
    url = await s.app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => { await s.close(); file.close() })

  const as = (k: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    s.app.inject({ method, url, headers: bearer(k), ...(payload ? { payload } : {}) })

  it('a session of key A is 404 to key B on /api/v1 and on /chat, for reads, chats, clears and deletes; A still has it', async () => {
    const first = await as(A, 'POST', '/api/v1/chat', { user_id: 'alice', session_id: 'shared-name', messages: [userMsg('I am A\'s alice')] })
    expect(first.statusCode).toBe(200)
    expect(first.json().data.user_id).toBe('alice')
    const conv = first.json().conversation_id as string
    for (const [method, url, payload] of [
      ['GET', '/api/v1/sessions/shared-name?user_id=alice'],
      ['POST', '/api/v1/sessions/shared-name/clear?user_id=alice', {}],
      ['DELETE', '/api/v1/sessions/shared-name?user_id=alice'],
      ['POST', '/api/v1/chat', { user_id: 'alice', session_id: 'shared-name', messages: [userMsg('B here')] }],
      ['POST', '/api/v1/chat', { user_id: 'alice', conversation_id: conv, messages: [userMsg('B here')] }],
      ['GET', `/api/v1/conversations/${conv}/messages?user_id=alice`],
      ['POST', '/chat', { user_id: 'alice', session_id: 'shared-name', message: 'B here' }],
      ['GET', '/session/shared-name/info?user_id=alice'],
      ['POST', '/session/shared-name/clear?user_id=alice']
    ] as const) {
      const r = await as(B, method, url, payload)
      expect(r.statusCode, `${method} ${url}`).toBe(404)
    }
    expect((await as(B, 'GET', '/api/v1/sessions?user_id=alice')).json().data).toEqual([])
    const info = await as(A, 'GET', '/api/v1/sessions/shared-name?user_id=alice')
    expect(info.statusCode).toBe(200)
    expect(info.json().data).toMatchObject({ session_id: 'shared-name', user_id: 'alice', message_count: 1 })
    expect((await as(A, 'GET', '/session/shared-name/info?user_id=alice')).json().user_id).toBe('alice')
    expect((await as(A, 'GET', '/api/v1/sessions?user_id=alice')).json().data.map((x: { session_id: string }) => x.session_id)).toEqual(['shared-name'])
  })

  it('a conversation of key A is left out of key B\'s listing; an account key lists everyone\'s with owner and key', async () => {
    const conv = (await as(A, 'POST', '/api/v1/conversations', { user_id: 'carol' })).json().conversation_id
    const listed = (k: string, q: string) => as(k, 'GET', `/api/v1/conversations?bot_id=${DEFAULT_BOT}&page_size=50${q}`)
    expect((await listed(A, '&user_id=carol')).json().data.map((c: { id: string }) => c.id)).toContain(conv)
    expect((await listed(B, '&user_id=carol')).json().data.map((c: { id: string }) => c.id)).not.toContain(conv)
    expect((await listed(B, '')).statusCode).toBe(400)
    const all = (await listed(ADMIN, '')).json().data as Array<{ id: string, user_id: string, key_id?: string }>
    expect(all.find((c) => c.id === conv)).toMatchObject({ user_id: 'carol', key_id: 'a' })
  })

  it('/v1/chat/completions: key B cannot submit tool outputs to key A\'s chat (404, Coze never sees them)', async () => {
    const client = (k: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: k, maxRetries: 0 })
    const question = { role: 'user' as const, content: 'Oslo' }
    const first = await client(A).chat.completions.create({ model: 'bot-tool', user: 'dave', messages: [question] })
    const assistant = first.choices[0]!.message
    const followUp = { model: 'bot-tool', user: 'dave', messages: [question, assistant, { role: 'tool' as const, tool_call_id: assistant.tool_calls![0]!.id, content: 'rain' }] }
    const before = s.emu.requests.length
    const err = await rejection(client(B).chat.completions.create(followUp))
    expect(err.status).toBe(404)
    expect(s.emu.requests.slice(before).map((r) => r.path)).not.toContain('/v3/chat/submit_tool_outputs')
    expect((await client(A).chat.completions.create(followUp)).choices[0]!.message.content).toBe('The tool said: rain')
  })
})

describe('ownership without keys: leaving out user_id no longer skips the check (the probe\'s findings)', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack() })
  afterAll(async () => { await s.close() })

  it('GET /api/v1/conversations/<id>/messages without user_id does not return another user\'s text', async () => {
    const conv = (await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'victim', messages: [userMsg('my private text')] } })).json().conversation_id
    const r = await s.app.inject(`/api/v1/conversations/${conv}/messages`)
    expect(r.statusCode).toBe(404)
    expect(r.body).not.toContain('my private text')
    expect((await s.app.inject(`/api/v1/conversations/${conv}/messages?user_id=victim`)).body).toContain('my private text')
  })

  it('DELETE /api/v1/sessions/<id> without user_id does not delete another user\'s session; nor do reads and clears see it', async () => {
    await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'victim', session_id: 'victims-session', messages: [userMsg('hi')] } })
    expect((await s.app.inject({ method: 'DELETE', url: '/api/v1/sessions/victims-session' })).statusCode).toBe(404)
    expect((await s.app.inject('/api/v1/sessions/victims-session')).statusCode).toBe(404)
    expect((await s.app.inject({ method: 'POST', url: '/api/v1/sessions/victims-session/clear' })).statusCode).toBe(404)
    expect((await s.app.inject('/session/victims-session/info')).statusCode).toBe(404)
    expect((await s.app.inject({ method: 'POST', url: '/chat', payload: { session_id: 'victims-session', message: 'let me in' } })).statusCode).toBe(404)
    expect((await s.app.inject('/api/v1/sessions/victims-session?user_id=victim')).json().data.message_count).toBe(1)
  })

  it('GET /api/v1/conversations without user_id is a 400 that says how; with one, only that user\'s are listed', async () => {
    const mine = (await s.app.inject({ method: 'POST', url: '/api/v1/conversations', payload: { user_id: 'lister' } })).json().conversation_id
    await s.app.inject({ method: 'POST', url: '/api/v1/conversations', payload: { user_id: 'someone-else' } })
    const all = await s.app.inject(`/api/v1/conversations?bot_id=${DEFAULT_BOT}`)
    expect(all.statusCode).toBe(400)
    expect(all.json()).toMatchObject({ success: false, code: 'VALIDATION_ERROR' })
    const listed = (await s.app.inject(`/api/v1/conversations?bot_id=${DEFAULT_BOT}&user_id=lister&page_size=50`)).json().data as Array<{ id: string, user_id: string }>
    expect(listed.map((c) => c.id)).toContain(mine)
    expect(new Set(listed.map((c) => c.user_id))).toEqual(new Set(['lister']))
  })

  it('the product docs\' keyless /chat client still works: a session made without user_id is used without one', async () => {
    await s.app.inject({ method: 'POST', url: '/chat', payload: { message: '你好', session_id: 'my_session' } })
    expect((await s.app.inject('/session/my_session/info')).json()).toMatchObject({ session_id: 'my_session', user_id: 'anonymous', message_count: 1 })
    expect((await s.app.inject({ method: 'POST', url: '/session/my_session/clear' })).statusCode).toBe(200)
  })
})
