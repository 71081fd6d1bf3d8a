// Tool calls (requires_action → tool-outputs) and cancel, through the SDK against the emulator.
import { CozeAPI } from '@coze/api'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseSse, startStack, userMsg, type Stack } from '../helpers/stack.js'

const post = (s: Stack, url: string, payload: Record<string, unknown>) => s.app.inject({ method: 'POST', url, payload })
const chat = (s: Stack, body: Record<string, unknown>) => post(s, '/api/v1/chat', { user_id: 'u1', ...body })

describe('tool calls', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack() })
  afterAll(async () => { await s.close() })

  it('JSON: requires_action with the tool calls, then tool-outputs continues the chat', async () => {
    const res = await chat(s, { bot_id: 'bot-tool', messages: [userMsg('Paris')] })
    expect(res.statusCode).toBe(200)
    const first = res.json()
    expect(first.success).toBe(true)
    expect(first.data.status).toBe('requires_action')
    expect(first.message).toMatch(/tool-outputs/)
    const [call] = first.data.tool_calls
    expect(call).toMatchObject({ id: expect.stringMatching(/^\d+$/), name: 'get_weather', arguments: '{"city":"Paris"}' })

    const next = await post(s, '/api/v1/chat/tool-outputs', { user_id: 'u1',
      conversation_id: first.data.conversation_id,
      chat_id: first.data.chat_id,
      tool_outputs: [{ tool_call_id: call.id, output: 'sunny, 21°C' }]
    })
    expect(next.statusCode).toBe(200)
    const d = next.json().data
    expect(d).toMatchObject({ status: 'completed', content: 'The tool said: sunny, 21°C', conversation_id: first.data.conversation_id, chat_id: first.data.chat_id })
    expect(d.usage.token_count).toBeGreaterThan(0)
    expect(next.json().conversation_id).toBe(first.data.conversation_id)
    const up = s.emu.requests.findLast((r) => r.path === '/v3/chat/submit_tool_outputs')!
    expect(up.query).toMatchObject({ conversation_id: first.data.conversation_id, chat_id: first.data.chat_id })
    expect(up.body).toMatchObject({ tool_outputs: [{ tool_call_id: call.id, output: 'sunny, 21°C' }], stream: true })
  })

  it('another user cannot continue or cancel the chat: 404, and Coze is not called', async () => {
    const first = (await chat(s, { bot_id: 'bot-tool', messages: [userMsg('Rome')] })).json()
    const [call] = first.data.tool_calls
    const ids = { conversation_id: first.data.conversation_id, chat_id: first.data.chat_id }
    const before = s.emu.requests.length
    const foreign = await post(s, '/api/v1/chat/tool-outputs', { ...ids, user_id: 'intruder', tool_outputs: [{ tool_call_id: call.id, output: 'x' }] })
    expect(foreign.statusCode).toBe(404)
    expect(foreign.json().success).toBe(false)
    const cancel = await post(s, '/api/v1/chat/cancel', { ...ids, user_id: 'intruder' })
    expect(cancel.statusCode).toBe(404)
    expect(s.emu.requests.length).toBe(before)
    const owner = await post(s, '/api/v1/chat/tool-outputs', { ...ids, user_id: 'u1', tool_outputs: [{ tool_call_id: call.id, output: 'rainy' }] })
    expect(owner.json().data.content).toBe('The tool said: rainy')
  })

  it('SSE: a tool_calls frame {conversation_id, chat_id, tool_calls:[{id, name, arguments}]} then end; tool-outputs streams the answer', async () => {
    const res = await chat(s, { bot_id: 'bot-tool', messages: [userMsg('Oslo')], stream: true })
    expect(res.statusCode).toBe(200)
    const frames = parseSse(res.body).filter((f) => f.type !== ':comment')
    expect(frames.map((f) => f.type)).toEqual(['tool_calls', 'end'])
    const tc = frames[0]!
    expect(tc.conversation_id).toMatch(/^\d+$/)
    expect(tc.chat_id).toMatch(/^\d+$/)
    const calls = tc.tool_calls as Array<{ id: string, name: string, arguments: string }>
    expect(calls[0]).toMatchObject({ id: expect.any(String), name: 'get_weather', arguments: '{"city":"Oslo"}' })

    const next = await post(s, '/api/v1/chat/tool-outputs', { user_id: 'u1',
      conversation_id: tc.conversation_id, chat_id: tc.chat_id, tool_outputs: [{ tool_call_id: calls[0]!.id, output: 'snow' }], stream: true
    })
    expect(next.statusCode).toBe(200)
    expect(next.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(next.headers['x-coze-chat-id']).toBe(tc.chat_id)
    const nf = parseSse(next.body).filter((f) => f.type !== ':comment')
    expect(nf.map((f) => f.type).slice(-2)).toEqual(['chat_completed', 'end'])
    expect(nf.filter((f) => f.type === 'message_delta').map((f) => f.content).join('')).toBe('The tool said: snow')
    expect(nf.at(-2)).toMatchObject({ conversation_id: tc.conversation_id, chat_id: tc.chat_id })
  })

  it('tool outputs for a chat that is not waiting, or an unknown tool_call_id → 400; unknown chat → 404', async () => {
    const first = (await chat(s, { bot_id: 'bot-tool', messages: [userMsg('Rome')] })).json().data
    const wrongId = await post(s, '/api/v1/chat/tool-outputs', { user_id: 'u1', conversation_id: first.conversation_id, chat_id: first.chat_id, tool_outputs: [{ tool_call_id: '999', output: 'x' }] })
    expect(wrongId.statusCode).toBe(400)
    expect(wrongId.json()).toMatchObject({ success: false, coze_code: 4000 })
    expect(wrongId.json().message).toMatch(/tool_call_id/)

    const done = (await chat(s, { messages: [userMsg('hello')] })).json().data
    const notWaiting = await post(s, '/api/v1/chat/tool-outputs', { user_id: 'u1', conversation_id: done.conversation_id, chat_id: done.chat_id, tool_outputs: [{ tool_call_id: '1', output: 'x' }], stream: true })
    expect(notWaiting.statusCode).toBe(400)
    expect(notWaiting.json().message).toMatch(/not waiting for tool outputs/)

    const unknown = await post(s, '/api/v1/chat/tool-outputs', { user_id: 'u1', conversation_id: done.conversation_id, chat_id: '123', tool_outputs: [{ tool_call_id: '1', output: 'x' }] })
    expect(unknown.statusCode).toBe(404)
  })

  it('validates the body: ids, a non-empty tool_outputs, string outputs', async () => {
    for (const payload of [
      { chat_id: '1', tool_outputs: [{ tool_call_id: '1', output: 'x' }] },
      { conversation_id: '1', chat_id: '1', tool_outputs: [] },
      { conversation_id: '1&x=2', chat_id: '1', tool_outputs: [{ tool_call_id: '1', output: 'x' }] },
      { conversation_id: '1', chat_id: '1', tool_outputs: [{ tool_call_id: '1' }] }
    ]) {
      const res = await post(s, '/api/v1/chat/tool-outputs', payload)
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ success: false, code: 'VALIDATION_ERROR' })
    }
  })
})

describe('POST /api/v1/chat/cancel', () => {
  let s: Stack
  let coze: CozeAPI
  beforeAll(async () => {
    s = await startStack({}, { slowDeltaMs: 100 })
    coze = new CozeAPI({ token: s.emu.token, baseURL: s.emu.url })
  })
  afterAll(async () => { await s.close() })
  afterEach(() => { s.emu.faults.clear() })

  it('cancels a chat in progress and answers its final status', async () => {
    // a slow chat started directly on Coze, still in progress
    const started = await coze.chat.create({ bot_id: 'bot-slow', user_id: 'u', additional_messages: [{ role: 'user' as never, content: 'one two three four', content_type: 'text' }] })
    const res = await post(s, '/api/v1/chat/cancel', { conversation_id: started.conversation_id, chat_id: started.id })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toMatchObject({ success: true, data: { conversation_id: started.conversation_id, chat_id: started.id, status: 'canceled' } })
    expect(new Date(res.json().data.created_at).toISOString()).toBe(res.json().data.created_at)
    expect((await coze.chat.retrieve(started.conversation_id, started.id)).status).toBe('canceled')
  })

  it('a streaming chat can be cancelled from its x-coze-chat-id header, and its stream ends', async () => {
    const url = await s.app.listen({ host: '127.0.0.1', port: 0 })
    const res = await fetch(`${url}/api/v1/chat`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'u', bot_id: 'bot-slow', messages: [userMsg('a b c d e f g h')], stream: true })
    })
    const conversationId = res.headers.get('x-coze-conversation-id')!
    const chatId = res.headers.get('x-coze-chat-id')!
    expect(chatId).toMatch(/^\d+$/)
    const cancel = await post(s, '/api/v1/chat/cancel', { user_id: 'u', conversation_id: conversationId, chat_id: chatId })
    expect(cancel.json().data.status).toBe('canceled')
    const frames = parseSse(await res.text()).filter((f) => f.type !== ':comment')
    expect(frames.at(-1)!.type).toBe('end')
    expect(frames.some((f) => f.type === 'chat_completed')).toBe(false)
  })

  it('a chat that has already finished → 409 with a clear message', async () => {
    const d = (await chat(s, { messages: [userMsg('hello')] })).json().data
    const res = await post(s, '/api/v1/chat/cancel', { user_id: 'u1', conversation_id: d.conversation_id, chat_id: d.chat_id })
    expect(res.statusCode).toBe(409)
    const b = res.json()
    expect(b).toMatchObject({ success: false, code: 'CHAT_NOT_CANCELABLE', coze_code: 4104, data: null })
    expect(b.message).toMatch(/already finished \(status "completed"\)/)
  })

  it('a chat waiting for tool outputs → 409 that points to tool-outputs; an unknown chat → 404', async () => {
    const d = (await chat(s, { bot_id: 'bot-tool', messages: [userMsg('Lima')] })).json().data
    const res = await post(s, '/api/v1/chat/cancel', { user_id: 'u1', conversation_id: d.conversation_id, chat_id: d.chat_id })
    expect(res.statusCode).toBe(409)
    expect(res.json().message).toMatch(/tool-outputs/)
    const unknown = await post(s, '/api/v1/chat/cancel', { user_id: 'u1', conversation_id: d.conversation_id, chat_id: '42' })
    expect(unknown.statusCode).toBe(404)
    const bad = await post(s, '/api/v1/chat/cancel', { user_id: 'u1', conversation_id: d.conversation_id })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toMatch(/chat_id/)
  })
})
