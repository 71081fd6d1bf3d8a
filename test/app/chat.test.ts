import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseSse, startStack, userMsg, DEFAULT_BOT, type Stack } from '../helpers/stack.js'

const chat = (s: Stack, body: Record<string, unknown>) =>
  s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', ...body } })

/** The additional_messages Coze received in the last /v3/chat call. */
const lastCozeMessages = (s: Stack) => {
  const r = [...s.emu.requests].reverse().find((q) => q.path === '/v3/chat')!
  return (r.body as { additional_messages: Array<{ role: string, content: string, type?: string }> }).additional_messages
}

describe('POST /api/v1/chat', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack() })
  afterAll(async () => { await s.close() })
  afterEach(() => { s.emu.faults.clear() })

  it('answers non-stream with the aggregated content and every documented field', async () => {
    const res = await chat(s, { messages: [userMsg('你好')] })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.success).toBe(true)
    expect(body.message).toBe('Chat completed successfully')
    const d = body.data
    expect(d.content).toContain('你好')
    expect(d.bot_id).toBe(DEFAULT_BOT)
    expect(d.user_id).toBe('u1')
    expect(d.conversation_id).toMatch(/^\d+$/)
    expect(d.chat_id).toMatch(/^\d+$/)
    expect(body.conversation_id).toBe(d.conversation_id)
    expect(d.usage.token_count).toBeGreaterThan(0)
    expect(d.usage.token_count).toBe(d.usage.input_count + d.usage.output_count)
    expect(new Date(d.timestamp).toISOString()).toBe(d.timestamp)
    expect(res.headers['x-coze-logid']).toMatch(/^\d{14}/)
  })

  it('streams on the transport its project asks for (COZE_TRANSPORT: unit undici, unit-sdk sdk)', async () => {
    const want = process.env.COZE_TRANSPORT ?? 'undici'
    expect((await s.app.inject('/api/v1/config')).json().data.coze_transport).toBe(want)
    expect(s.app.coze.streams === undefined).toBe(want === 'sdk')
  })

  it('never polls Coze: one streaming call per chat', async () => {
    const before = s.emu.requests.length
    await chat(s, { messages: [userMsg('count my calls')] })
    const calls = s.emu.requests.slice(before).map((r) => r.path)
    expect(calls).toEqual(['/v3/chat'])
    expect((s.emu.requests.at(-1)!.body as { stream: boolean }).stream).toBe(true)
  })

  it('streams one message_delta frame per Coze delta, then chat_completed and end', async () => {
    const res = await chat(s, { messages: [userMsg('tell me a story')], stream: true })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(res.headers['cache-control']).toBe('no-cache')
    expect(res.headers['x-accel-buffering']).toBe('no')
    const frames = parseSse(res.body)
    const types = frames.map((f) => f.type)
    const deltas = frames.filter((f) => f.type === 'message_delta')
    expect(deltas.length).toBeGreaterThanOrEqual(3)
    expect(types.slice(-2)).toEqual(['chat_completed', 'end'])
    expect(types.slice(0, deltas.length)).toEqual(deltas.map(() => 'message_delta'))
    for (const d of deltas) expect(typeof d.timestamp).toBe('string')
    const completed = frames.at(-2)!
    expect(completed.conversation_id).toMatch(/^\d+$/)
    expect(completed.chat_id).toMatch(/^\d+$/)
    expect((completed.usage as { token_count: number }).token_count).toBeGreaterThan(0)
    // the same text as the non-stream answer, delta for delta
    const text = deltas.map((d) => d.content).join('')
    expect(text).toContain('tell me a story')
  })

  it('relays reasoning and follow-up suggestions as their own frames and fields', async () => {
    const r1 = parseSse((await chat(s, { bot_id: 'bot-reasoning', messages: [userMsg('why?')], stream: true })).body)
    const firstAnswer = r1.findIndex((f) => f.type === 'message_delta')
    expect(r1.findIndex((f) => f.type === 'reasoning_delta')).toBeGreaterThanOrEqual(0)
    expect(r1.findIndex((f) => f.type === 'reasoning_delta')).toBeLessThan(firstAnswer)
    const j1 = (await chat(s, { bot_id: 'bot-reasoning', messages: [userMsg('why?')] })).json()
    expect(j1.data.reasoning_content.length).toBeGreaterThan(0)

    const r2 = parseSse((await chat(s, { bot_id: 'bot-followup', messages: [userMsg('hi')], stream: true })).body)
    expect(r2.filter((f) => f.type === 'follow_up').length).toBe(3)
    const j2 = (await chat(s, { bot_id: 'bot-followup', messages: [userMsg('hi')] })).json()
    expect(j2.data.follow_ups).toHaveLength(3)
  })

  it('multi-turn with conversation_id: the second turn sees the first, and re-sent history is not duplicated', async () => {
    const first = (await chat(s, { messages: [userMsg('my name is Ada')] })).json()
    const convId = first.conversation_id
    const second = await chat(s, {
      conversation_id: convId,
      messages: [userMsg('my name is Ada'), { role: 'assistant', content: first.data.content }, userMsg('what is my name?')]
    })
    expect(second.statusCode).toBe(200)
    expect(second.json().data.conversation_id).toBe(convId)
    expect(second.json().data.content).toContain('Turn 2')
    expect(second.json().data.content).toContain('my name is Ada')
    // only the new turn went upstream
    expect(lastCozeMessages(s)).toEqual([{ role: 'user', type: 'question', content: 'what is my name?', content_type: 'text' }])
  })

  it('without conversation_id the messages are the context, assistant turns included', async () => {
    const res = await chat(s, { messages: [userMsg('first question'), { role: 'assistant', content: 'first answer' }, userMsg('second question')] })
    expect(res.json().data.content).toContain('Turn 2')
    expect(res.json().data.content).toContain('first question')
    expect(lastCozeMessages(s).map((m) => [m.role, m.type])).toEqual([['user', 'question'], ['assistant', 'answer'], ['user', 'question']])
  })

  it('maps system messages to an instruction prefix on the first user message (Coze has no system role)', async () => {
    const res = await chat(s, { messages: [{ role: 'system', content: 'Answer in French.' }, userMsg('hello')] })
    expect(res.statusCode).toBe(200)
    const sent = lastCozeMessages(s)
    expect(sent).toHaveLength(1)
    expect(sent[0]!.role).toBe('user')
    expect(sent[0]!.content).toBe('System instructions:\nAnswer in French.\n\nhello')
    expect(sent.some((m) => m.role === 'system')).toBe(false)
  })

  it('uses COZE_BOT_ID when bot_id is absent, and says what to set when neither is given', async () => {
    await chat(s, { messages: [userMsg('x')] })
    expect((lastCozeMessages(s) && (s.emu.requests.at(-1)!.body as { bot_id: string }).bot_id)).toBe(DEFAULT_BOT)
    const s2 = await startStack({ COZE_BOT_ID: '' })
    try {
      const res = await chat(s2, { messages: [userMsg('x')] })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ success: false, data: null, message: 'bot_id is required either in request or environment variable COZE_BOT_ID' })
    } finally { await s2.close() }
  })

  it.each([
    [{ messages: [] }, 'messages'],
    [{ messages: [{ role: 'robot', content: 'x' }] }, 'role'],
    [{ messages: [{ role: 'user', content: '' }] }, 'content'],
    [{ messages: Array.from({ length: 101 }, () => userMsg('x')) }, 'messages'],
    [{ messages: [userMsg('x')], stream: 'yes' }, 'stream'],
    [{}, 'messages']
  ])('rejects bad input %# with a 400 naming the field', async (body, field) => {
    const before = s.emu.requests.length
    const res = await chat(s, body)
    expect(res.statusCode).toBe(400)
    expect(res.json().success).toBe(false)
    expect(res.json().message).toContain(field)
    expect(s.emu.requests.length).toBe(before)
  })

  it('rejects a missing user_id and a conversation that ends with the assistant', async () => {
    const noUser = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { messages: [userMsg('x')] } })
    expect(noUser.statusCode).toBe(400)
    expect(noUser.json().message).toContain('user_id')
    const lastAssistant = await chat(s, { messages: [userMsg('x'), { role: 'assistant', content: 'y' }] })
    expect(lastAssistant.statusCode).toBe(400)
    expect(lastAssistant.json().message).toMatch(/last message/)
  })
})
