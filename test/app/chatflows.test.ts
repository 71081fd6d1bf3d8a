// Chatflows (conversational workflows) on the one chat pipeline: POST /api/v1/workflows/{id}/chat,
// JSON and SSE, sessions, the question node, the Coze error mapping and a cut stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHATFLOW_ECHO_ID, CHATFLOW_QUESTION, CHATFLOW_QUESTION_ID, CHATFLOW_REQUIRED_ID } from '../../src/emulator/index.js'
import { parseSse, startStack, userMsg, type Stack } from '../helpers/stack.js'
import { startOpenAIStack, waitFor } from '../helpers/openai.js'

const url = (id: string) => `/api/v1/workflows/${id}/chat`

describe('chatflow chat', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack() })
  afterAll(async () => { await s.close() })

  const post = (id: string, payload: Record<string, unknown>) => s.app.inject({ method: 'POST', url: url(id), payload })

  it('JSON: aggregated from the stream, with the chatflow inputs, the workflow id and the debug_url', async () => {
    const r = await post(CHATFLOW_ECHO_ID, { user_id: 'u1', messages: [userMsg('hi')], parameters: { city: 'Paris' } })
    expect(r.statusCode).toBe(200)
    const body = r.json()
    expect(body.success).toBe(true)
    expect(body.data).toMatchObject({ status: 'completed', workflow_id: CHATFLOW_ECHO_ID, user_id: 'u1' })
    expect(body.data.content).toContain('Parameters: {"city":"Paris"}')
    expect(body.data.debug_url).toMatch(/^https:\/\/.*execute_id=/)
    expect(body.data.usage.token_count).toBeGreaterThan(0)
    const sent = s.emu.requests.filter((q) => q.path === '/v1/workflows/chat').at(-1)!
    expect(sent.body).toMatchObject({ workflow_id: CHATFLOW_ECHO_ID, parameters: { city: 'Paris' } })
    expect(sent.body).not.toHaveProperty('bot_id')
  })

  it('SSE: one frame per delta, then chat_completed with debug_url, then end', async () => {
    const r = await post(CHATFLOW_ECHO_ID, { user_id: 'u1', messages: [userMsg('stream me')], stream: true })
    expect(r.headers['content-type']).toMatch(/text\/event-stream/)
    const frames = parseSse(r.body)
    const types = frames.map((f) => f.type)
    expect(types.filter((t) => t === 'message_delta').length).toBeGreaterThan(1)
    expect(types.slice(-2)).toEqual(['chat_completed', 'end'])
    expect(frames.at(-2)!.debug_url).toMatch(/execute_id=/)
    expect(frames.map((f) => f.type === 'message_delta' ? f.content : '').join('')).toContain('stream me')
  })

  it('a session over several turns: the question node asks, the next message on the session is the reply', async () => {
    const sessionId = `cf-${Date.now()}`
    const first = await post(CHATFLOW_QUESTION_ID, { user_id: 'u2', session_id: sessionId, messages: [userMsg('start')] })
    expect(first.json().data).toMatchObject({ content: CHATFLOW_QUESTION, session_id: sessionId })
    const second = await post(CHATFLOW_QUESTION_ID, { user_id: 'u2', session_id: sessionId, messages: [userMsg('Alice')], stream: true })
    const frames = parseSse(second.body)
    expect(frames.map((f) => f.type === 'message_delta' ? f.content : '').join('')).toBe('Nice to meet you, Alice!')
    expect(frames.find((f) => f.type === 'chat_completed')).toMatchObject({ session_id: sessionId, conversation_id: first.json().data.conversation_id })

    const info = (await s.app.inject({ url: `/api/v1/sessions/${sessionId}?user_id=u2` })).json().data
    expect(info).toMatchObject({ workflow_id: CHATFLOW_QUESTION_ID, bot_id: null, message_count: 2, conversation_id: first.json().data.conversation_id })

    // The session is the chatflow's: a bot chat on it is refused, and so is another user.
    const bot = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u2', session_id: sessionId, bot_id: 'bot-echo', messages: [userMsg('x')] } })
    expect(bot.statusCode).toBe(400)
    expect(bot.json().message).toContain(`bound to chatflow ${CHATFLOW_QUESTION_ID}`)
    const other = await post(CHATFLOW_QUESTION_ID, { user_id: 'mallory', session_id: sessionId, messages: [userMsg('x')] })
    expect(other.statusCode).toBe(404)
  })

  it('conversation_id continues a chatflow conversation, and it is its user\'s', async () => {
    const first = await post(CHATFLOW_QUESTION_ID, { user_id: 'u3', messages: [userMsg('start')] })
    const conversationId = first.json().data.conversation_id as string
    const reply = await post(CHATFLOW_QUESTION_ID, { user_id: 'u3', conversation_id: conversationId, messages: [userMsg('Bob')] })
    expect(reply.json().data.content).toBe('Nice to meet you, Bob!')
    const stranger = await post(CHATFLOW_QUESTION_ID, { user_id: 'eve', conversation_id: conversationId, messages: [userMsg('x')] })
    expect(stranger.statusCode).toBe(404)
  })

  it('an unknown or unpublished chatflow is a 404 that says what to check; a missing input a 400 with Coze\'s message', async () => {
    const missing = await post('7400000000000000999', { user_id: 'u4', messages: [userMsg('x')] })
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toMatchObject({ code: 'UPSTREAM_NOT_FOUND', coze_code: 4200 })
    expect(missing.json().message).toContain('check the workflow id and that the chatflow is published')

    const noInput = await post(CHATFLOW_REQUIRED_ID, { user_id: 'u4', messages: [userMsg('x')], stream: true })
    expect(noInput.statusCode).toBe(400)
    expect(noInput.json()).toMatchObject({ code: 'UPSTREAM_BAD_REQUEST', coze_code: 4000 })
    expect(noInput.json().message).toContain('Missing required parameter: topic')

    const ok = await post(CHATFLOW_REQUIRED_ID, { user_id: 'u4', messages: [userMsg('x')], parameters: { topic: 'tea' } })
    expect(ok.json().data.content).toContain('Topic: tea.')
  })

  it('app_id with bot_id is a 400 before Coze is called', async () => {
    const before = s.emu.requests.length
    const r = await post(CHATFLOW_ECHO_ID, { user_id: 'u5', messages: [userMsg('x')], app_id: 'app1', bot_id: 'bot1' })
    expect(r.statusCode).toBe(400)
    expect(r.json().message).toMatch(/app_id and bot_id cannot be used together/)
    expect(s.emu.requests.length).toBe(before)
  })

  it('a cut stream is reported as an error, never as a completed chat', async () => {
    const r = await post('fault-truncate', { user_id: 'u6', messages: [userMsg('hi')], stream: true })
    const frames = parseSse(r.body)
    expect(frames.some((f) => f.type === 'chat_completed')).toBe(false)
    expect(frames.at(-2)).toMatchObject({ type: 'error', code: 'UPSTREAM_TRUNCATED' })
    expect(frames.at(-1)).toEqual({ type: 'end' })
    const json = await post('fault-truncate', { user_id: 'u6', messages: [userMsg('hi')] })
    expect(json.statusCode).toBe(502)
    expect(json.json().code).toBe('UPSTREAM_TRUNCATED')
  })
})

describe('chatflow stream whose client leaves', () => {
  it('aborts the upstream request and cancels the chat in Coze', async () => {
    const s = await startStack({}, { deltaDelayMs: 150 })
    try {
      const base = await s.app.listen({ host: '127.0.0.1', port: 0 })
      const ac = new AbortController()
      const res = await fetch(base + url(CHATFLOW_ECHO_ID), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: 'u7', messages: [userMsg('one two three four five six seven')], stream: true }),
        signal: ac.signal
      })
      const reader = res.body!.getReader()
      let got = ''
      while (!got.includes('message_delta')) got += new TextDecoder().decode((await reader.read()).value)
      ac.abort()
      await waitFor(() => s.emu.requests.some((r) => r.path === '/v1/workflows/chat' && r.aborted))
      await waitFor(() => s.emu.requests.some((r) => r.path === '/v3/chat/cancel'))
    } finally {
      await s.close()
    }
  })
})

describe('chatflows through COZE_MODEL_MAP', () => {
  let s: Awaited<ReturnType<typeof startOpenAIStack>>
  const MAP = { support: { workflow_id: CHATFLOW_QUESTION_ID }, echo: { workflow_id: CHATFLOW_ECHO_ID, app_id: 'app-1' } }
  beforeAll(async () => { s = await startOpenAIStack({ COZE_MODEL_MAP: JSON.stringify(MAP) }) })
  afterAll(async () => { await s.close() })

  it('the openai SDK talks to a chatflow by its alias, streamed and not, and /v1/models lists it', async () => {
    const r = await s.client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'hello' }] })
    expect(r.model).toBe('echo')
    expect(r.choices[0]!.message.content).toContain('You said: "hello"')
    const sent = s.emu.requests.filter((q) => q.path === '/v1/workflows/chat').at(-1)!
    expect(sent.body).toMatchObject({ workflow_id: CHATFLOW_ECHO_ID, app_id: 'app-1' })

    const stream = await s.client.chat.completions.create({ model: 'support', messages: [{ role: 'user', content: 'hi' }], stream: true })
    let text = ''
    let finish: string | null = null
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? ''
      finish = c.choices[0]?.finish_reason ?? finish
    }
    expect(text).toBe(CHATFLOW_QUESTION)
    expect(finish).toBe('stop')

    const models = await s.client.models.list()
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(['support', 'echo']))
    expect(await s.client.models.retrieve('echo')).toMatchObject({ id: 'echo', workflow_id: CHATFLOW_ECHO_ID, app_id: 'app-1' })
  })

  it('the simple chat API reaches a chatflow through its alias, and the session stays on it', async () => {
    const first = await s.app.inject({ method: 'POST', url: '/chat', payload: { message: 'start', bot_id: 'support' } })
    expect(first.json().response).toBe(CHATFLOW_QUESTION)
    const next = await s.app.inject({ method: 'POST', url: '/chat', payload: { message: 'Carol', session_id: first.json().session_id } })
    expect(next.json().response).toBe('Nice to meet you, Carol!')
  })
})

describe('chatflows and ALLOWED_WORKFLOW_IDS', () => {
  let s: Awaited<ReturnType<typeof startOpenAIStack>>
  beforeAll(async () => {
    s = await startOpenAIStack({
      ALLOWED_WORKFLOW_IDS: CHATFLOW_ECHO_ID,
      COZE_MODEL_MAP: JSON.stringify({ support: { workflow_id: CHATFLOW_QUESTION_ID }, echo: { workflow_id: CHATFLOW_ECHO_ID } })
    })
  })
  afterAll(async () => { await s.close() })

  it('a chatflow outside the list is 403 before Coze on every surface; a listed one chats', async () => {
    const before = s.emu.requests.length
    for (const [path, payload] of [
      [url(CHATFLOW_QUESTION_ID), { user_id: 'u', messages: [userMsg('hi')] }],
      ['/v1/chat/completions', { model: 'support', messages: [userMsg('hi')] }],
      ['/chat', { message: 'hi', bot_id: 'support' }]
    ] as const) {
      const r = await s.app.inject({ method: 'POST', url: path, payload })
      expect(r.statusCode, path).toBe(403)
      expect(r.body).toContain(`The workflow ${CHATFLOW_QUESTION_ID} is not allowed`)
    }
    expect(s.emu.requests.length).toBe(before)
    expect((await s.app.inject({ method: 'POST', url: url(CHATFLOW_ECHO_ID), payload: { user_id: 'u', messages: [userMsg('hi')] } })).statusCode).toBe(200)
    expect((await s.client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'hi' }] })).choices[0]!.message.content).toContain('hi')
    const models = (await s.client.models.list()).data.map((m) => m.id)
    expect(models).toContain('echo')
    expect(models).not.toContain('support')
  })
})
