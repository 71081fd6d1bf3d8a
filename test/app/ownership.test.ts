// One chat pipeline, one ownership rule: a chat or session that belongs to one user is a
// 404 for any other user, whichever surface the second user comes in on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import OpenAI from 'openai'
import { startOpenAIStack, rejection, type OpenAIStack } from '../helpers/openai.js'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'

describe('another user cannot use a chat or session that is not theirs', () => {
  let s: OpenAIStack
  beforeAll(async () => { s = await startOpenAIStack() })
  afterAll(async () => { await s.close() })

  it('POST /api/v1/chat/tool-outputs: 404 for another user, 200 for the owner', async () => {
    const chat = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { bot_id: 'bot-tool', user_id: 'alice', messages: [userMsg('Paris')] } })
    const { conversation_id: conversationId, chat_id: chatId, tool_calls: calls } = chat.json().data
    const body = (userId: string) => ({ conversation_id: conversationId, chat_id: chatId, user_id: userId, tool_outputs: [{ tool_call_id: calls[0].id, output: 'sunny' }] })

    const bob = await s.app.inject({ method: 'POST', url: '/api/v1/chat/tool-outputs', payload: body('bob') })
    expect(bob.statusCode).toBe(404)
    expect(bob.json()).toMatchObject({ success: false, code: 'NOT_FOUND' })

    const alice = await s.app.inject({ method: 'POST', url: '/api/v1/chat/tool-outputs', payload: body('alice') })
    expect(alice.statusCode).toBe(200)
    expect(alice.json().data.content).toBe('The tool said: sunny')
  })

  it('POST /v1/chat/completions with tool results: 404 for another `user`, and Coze never sees the outputs', async () => {
    const question = { role: 'user' as const, content: 'Oslo' }
    const first = await s.client.chat.completions.create({ model: 'bot-tool', user: 'alice', messages: [question] })
    const assistant = first.choices[0]!.message
    const call = assistant.tool_calls![0]!
    const followUp = (user: string) => ({ model: 'bot-tool', user, messages: [question, assistant, { role: 'tool' as const, tool_call_id: call.id, content: 'rain' }] })

    const before = s.emu.requests.length
    const err = await rejection(new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'k', maxRetries: 0 }).chat.completions.create(followUp('bob')))
    expect(err.status).toBe(404)
    expect(err.code).toBe('not_found')
    expect(s.emu.requests.slice(before).map((r) => r.path)).not.toContain('/v3/chat/submit_tool_outputs')

    const ok = await s.client.chat.completions.create(followUp('alice'))
    expect(ok.choices[0]!.message.content).toBe('The tool said: rain')
  })

  it('POST /chat (the simple chat API): another user_id on a session is a 404 {detail}, the owner continues', async () => {
    const first = await s.app.inject({ method: 'POST', url: '/chat', payload: { message: 'hello', user_id: 'alice' } })
    expect(first.statusCode).toBe(200)
    const sessionId = first.json().session_id as string

    const bob = await s.app.inject({ method: 'POST', url: '/chat', payload: { message: 'let me in', session_id: sessionId, user_id: 'bob' } })
    expect(bob.statusCode).toBe(404)
    expect(bob.json()).toEqual({ detail: `Session ${sessionId} not found (it may have expired).` })
    const bobStream = await s.app.inject({ method: 'POST', url: '/chat/stream', payload: { message: 'let me in', session_id: sessionId, user_id: 'bob' } })
    expect(bobStream.statusCode).toBe(404)

    const again = await s.app.inject({ method: 'POST', url: '/chat', payload: { message: 'second', session_id: sessionId, user_id: 'alice' } })
    expect(again.statusCode).toBe(200)
    expect(again.json().response).toMatch(/Turn 2/)
  })
})

// The owner of a conversation a chat creates is written off the chat's path (batched, after
// the first frame), yet it holds at once: on this instance from the first frame, on another
// instance sharing the session database by the time the answer ends.
describe('the owner of a new conversation holds as soon as Coze names it', () => {
  let a: Stack
  let b: Stack
  beforeAll(async () => {
    a = await startStack()
    // the same session database (TEST_SESSION_DB), as a second instance of the gateway
    b = await startStack()
  })
  afterAll(async () => { await a.close(); await b.close() })

  const chat = (s: Stack, userId: string, body: Record<string, unknown>) =>
    s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: userId, messages: [userMsg('mine')], ...body } })

  it('JSON: another user is refused right after the answer, on either instance, before Coze is called', async () => {
    for (let i = 0; i < 5; i++) {
      const alice = await chat(a, 'alice', {})
      expect(alice.statusCode).toBe(200)
      const conversationId = alice.json().data.conversation_id as string
      const before = a.emu.requests.length + b.emu.requests.length
      const [onA, onB, streamOnB] = await Promise.all([
        chat(a, 'bob', { conversation_id: conversationId }),
        chat(b, 'bob', { conversation_id: conversationId }),
        chat(b, 'bob', { conversation_id: conversationId, stream: true })
      ])
      expect([onA.statusCode, onB.statusCode, streamOnB.statusCode]).toEqual([404, 404, 404])
      expect(onB.json().code).toBe('NOT_FOUND')
      expect(a.emu.requests.length + b.emu.requests.length).toBe(before)
      expect((await chat(a, 'alice', { conversation_id: conversationId })).statusCode).toBe(200)
    }
  })

  it('SSE: refused on the same instance while the first chat still streams, and on the other once it ended', async () => {
    const res = await fetch(`${await a.app.listen({ port: 0, host: '127.0.0.1' })}/api/v1/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'alice', bot_id: 'bot-slow-150', messages: [userMsg('one two three four')], stream: true })
    })
    // the headers leave with the first frame (a delta), the conversation's id among them
    const conversationId = res.headers.get('x-coze-conversation-id')!
    expect(conversationId).toMatch(/^\d+$/)
    expect((await chat(a, 'bob', { conversation_id: conversationId })).json()).toMatchObject({ success: false, code: 'NOT_FOUND' })
    const text = await res.text()
    expect(text).toContain('"chat_completed"')
    const before = b.emu.requests.length
    const onB = await chat(b, 'bob', { conversation_id: conversationId })
    expect(onB.statusCode).toBe(404)
    expect(onB.json().code).toBe('NOT_FOUND')
    expect(b.emu.requests.length).toBe(before)
  })
})
