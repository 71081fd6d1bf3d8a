// One chat pipeline, one ownership rule: a chat or session that belongs to one user is a
// 404 for any other user, whichever surface the second user comes in on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import OpenAI from 'openai'
import { startOpenAIStack, rejection, type OpenAIStack } from '../helpers/openai.js'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'
import { skipRedisTests, startRedis, type TestRedis } from '../helpers/redis.js'

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

// The owner of a conversation a chat creates is written off the chat's path (sqlite: batched
// after the answer; redis: sent without waiting), yet it holds at once: on the instance from
// the first frame on, and on every instance sharing a Redis store by the time the answer ends.
describe('the owner of a new conversation holds as soon as Coze names it', () => {
  const chat = (s: Stack, userId: string, body: Record<string, unknown>) =>
    s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: userId, messages: [userMsg('mine')], ...body } })
  /** Another user on `conversationId`: refused by the gateway itself (not by Coze, which `s` would have had to call). */
  const refused = async (s: Stack, conversationId: string, extra: Record<string, unknown> = {}) => {
    const before = s.emu.requests.length
    const res = await chat(s, 'bob', { conversation_id: conversationId, ...extra })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ success: false, code: 'NOT_FOUND' })
    expect(s.emu.requests.length).toBe(before)
  }

  describe('one instance (sqlite, the default store)', () => {
    let s: Stack
    beforeAll(async () => { s = await startStack() })
    afterAll(async () => { await s.close() })

    it('JSON: another user is refused right after the answer, streaming or not', async () => {
      for (let i = 0; i < 5; i++) {
        const alice = await chat(s, 'alice', {})
        expect(alice.statusCode).toBe(200)
        const conversationId = alice.json().data.conversation_id as string
        await Promise.all([refused(s, conversationId), refused(s, conversationId, { stream: true })])
        expect((await chat(s, 'alice', { conversation_id: conversationId })).statusCode).toBe(200)
      }
    })

    it('SSE: refused while the first chat still streams', async () => {
      const res = await fetch(`${await s.app.listen({ port: 0, host: '127.0.0.1' })}/api/v1/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: 'alice', bot_id: 'bot-slow-150', messages: [userMsg('one two three four')], stream: true })
      })
      // the headers leave with the first frame (a delta), the conversation's id among them
      const conversationId = res.headers.get('x-coze-conversation-id')!
      expect(conversationId).toMatch(/^\d+$/)
      await refused(s, conversationId)
      expect(await res.text()).toContain('"chat_completed"')
      await refused(s, conversationId)
    })
  })

  describe.skipIf(skipRedisTests)('two instances on one Redis', () => {
    let redis: TestRedis
    let a: Stack
    let b: Stack
    beforeAll(async () => {
      redis = await startRedis()
      const env = { SESSION_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: `own-${process.pid}:` }
      a = await startStack(env)
      b = await startStack(env)
    })
    afterAll(async () => { await a?.close(); await b?.close(); await redis?.close() })

    it('another user is refused on the other instance right after the answer, streaming or not', async () => {
      for (let i = 0; i < 5; i++) {
        const alice = await chat(a, 'alice', {})
        expect(alice.statusCode).toBe(200)
        const conversationId = alice.json().data.conversation_id as string
        await Promise.all([refused(b, conversationId), refused(b, conversationId, { stream: true }), refused(a, conversationId)])
      }
    })
  })
})
