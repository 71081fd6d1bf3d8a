import { describe, expect, it } from 'vitest'
import { CozeAPI, CozeError, InternalServerError, RateLimitError, TimeoutError } from '@coze/api'
import type { StreamChatData } from '@coze/api'
import { CHATFLOW_ECHO_ID, CHATFLOW_QUESTION, CHATFLOW_QUESTION_ID, CHATFLOW_REQUIRED_ID } from '../../src/emulator/index.js'
import type { Emulator } from '../../src/emulator/index.js'
import { LOGID_RE, drain, names, raw, useEmulator, user, waitFor } from './helpers.js'

let emu: Emulator
let coze: CozeAPI

useEmulator((e, c) => { emu = e; coze = c })

const data = (ev: StreamChatData): any => ev.data
const run = (params: Record<string, unknown>, opts?: Record<string, unknown>) =>
  drain(coze.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, additional_messages: [user('hello chatflow')], ...params } as any, opts))

function answerOf (events: StreamChatData[]): string {
  const done = events.find((e) => e.event === 'conversation.message.completed' && data(e).type === 'answer')
  return done ? data(done).content : ''
}

describe('POST /v1/workflows/chat through workflows.chat.stream()', () => {
  it('streams the chat-v3 events: created, in_progress, deltas, completed answer + verbose, chat.completed with usage, done', async () => {
    const { events, error } = await run({ parameters: { city: 'Paris', n: 2 } })
    expect(error).toBeUndefined()
    const n = names(events)
    expect(n.slice(0, 2)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress'])
    const deltas = events.filter((e) => e.event === 'conversation.message.delta')
    expect(deltas.length).toBeGreaterThanOrEqual(3)
    expect(n.slice(2 + deltas.length)).toEqual(['conversation.message.completed', 'conversation.message.completed', 'conversation.chat.completed', 'done'])
    const answer = answerOf(events)
    expect(deltas.map((d) => data(d).content).join('')).toBe(answer)
    expect(answer).toBe('Turn 1. You said: "hello chatflow". [context: user] Parameters: {"city":"Paris","n":2}.')
    const verbose = data(events.at(-3)!)
    expect(verbose.type).toBe('verbose')
    expect(JSON.parse(verbose.content).msg_type).toBe('generate_answer_finish')
    const completed = data(events.at(-2)!)
    expect(completed).toMatchObject({ id: data(events[0]!).id, status: 'completed', completed_at: expect.any(Number) })
    expect(completed.usage.token_count).toBe(completed.usage.input_count + completed.usage.output_count)
    expect(completed.usage.output_count).toBeGreaterThan(0)
    // the SDK never parses done; it always yields '[DONE]'
    expect(events.at(-1)).toEqual({ event: 'done', data: '[DONE]' })
  })

  it('frames like a chat stream (no id lines) and ends with done carrying {debug_url}, not "[DONE]"', async () => {
    const res = await raw(emu, 'POST', '/v1/workflows/chat', { workflow_id: CHATFLOW_ECHO_ID, additional_messages: [{ role: 'user', content: 'raw', content_type: 'text' }] })
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(res.text).not.toMatch(/^id:/m)
    const last = res.text.split('\n\n').filter(Boolean).at(-1)!
    const [event, dataLine] = last.split('\n')
    expect(event).toBe('event:done')
    const done = JSON.parse(dataLine!.slice(5))
    expect(Object.keys(done)).toEqual(['debug_url'])
    expect(done.debug_url).toMatch(new RegExp(`^https://www\\.coze\\.cn/work_flow\\?execute_id=\\d+&space_id=\\d+&workflow_id=${CHATFLOW_ECHO_ID}$`))
  })

  it('chat objects and messages carry no bot_id without one, and the bot_id when given', async () => {
    const plain = await run({})
    expect(data(plain.events[0]!)).not.toHaveProperty('bot_id')
    expect(data(plain.events[2]!)).not.toHaveProperty('bot_id')
    const withBot = await run({ bot_id: 'bot-echo' })
    expect(data(withBot.events[0]!).bot_id).toBe('bot-echo')
    expect(data(withBot.events[2]!).bot_id).toBe('bot-echo')
  })

  it('accepts parameters as a JSON string', async () => {
    expect(answerOf((await run({ parameters: '{"a":1}' })).events)).toContain('Parameters: {"a":1}.')
  })
})

describe('conversation state', () => {
  it('creates a conversation when none is given, then keeps its history turn by turn', async () => {
    const t1 = await run({})
    const convId = data(t1.events[0]!).conversation_id
    expect((await coze.conversations.retrieve(convId)).id).toBe(convId)
    const t2 = await drain(coze.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, conversation_id: convId, additional_messages: [user('second')] }))
    expect(answerOf(t2.events)).toBe('Turn 2. You said: "second". Earlier you said: "hello chatflow". [context: user,assistant,user] Parameters: {}.')
    const msgs = await coze.conversations.messages.list(convId, { order: 'asc' })
    expect(msgs.data.map((m) => [m.role, m.type])).toEqual([['user', 'question'], ['assistant', 'answer'], ['user', 'question'], ['assistant', 'answer']])
  })

  it('takes conversation_id from the query too (cozepy style)', async () => {
    const conv = await coze.conversations.create({})
    await drain(coze.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, conversation_id: conv.id, additional_messages: [user('one')] }))
    const res = await raw(emu, 'POST', `/v1/workflows/chat?conversation_id=${conv.id}`, { workflow_id: CHATFLOW_ECHO_ID, additional_messages: [{ role: 'user', content: 'two', content_type: 'text' }] })
    expect(res.text).toContain('Turn 2. You said: \\"two\\". Earlier you said: \\"one\\".')
  })

  it('clear starts a new section for chatflows too', async () => {
    const t1 = await run({})
    const convId = data(t1.events[0]!).conversation_id
    await coze.conversations.clear(convId)
    const t2 = await drain(coze.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, conversation_id: convId, additional_messages: [user('fresh')] }))
    expect(answerOf(t2.events)).toMatch(/^Turn 1\. You said: "fresh"\./)
  })

  it('4016 while a chatflow runs on the conversation (for chatflows and bot chats), free again afterwards', async () => {
    const conv = await coze.conversations.create({})
    emu.faults.inject({ kind: 'latency', deltaMs: 80 }, { path: '/v1/workflows/chat', times: 1 })
    const slow = coze.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, conversation_id: conv.id, additional_messages: [user('a slow one here')] })[Symbol.asyncIterator]()
    expect((await slow.next()).value?.event).toBe('conversation.chat.created')
    const again = await drain(coze.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, conversation_id: conv.id, additional_messages: [user('overlap')] }))
    expect(again.events.map((e) => [e.event, data(e).code])).toEqual([['error', 4016]])
    const bot = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('overlap')] }))
    expect(bot.events.map((e) => [e.event, data(e).code])).toEqual([['error', 4016]])
    await drain({ [Symbol.asyncIterator]: () => slow })
    const after = await drain(coze.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, conversation_id: conv.id, additional_messages: [user('after')] }))
    expect(names(after.events).at(-1)).toBe('done')
  })

  it('an unknown conversation is 4200', async () => {
    const { events } = await run({ conversation_id: '7000000000000000001' })
    expect(events.map((e) => [e.event, data(e).code])).toEqual([['error', 4200]])
  })

  it('the chat can be retrieved and canceled with the chat endpoints; a canceled chatflow ends with done and no chat.completed', async () => {
    emu.faults.inject({ kind: 'latency', deltaMs: 80 }, { path: '/v1/workflows/chat', times: 1 })
    const gen = coze.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, additional_messages: [user('cancel this chatflow please')] })[Symbol.asyncIterator]()
    const c = data((await gen.next()).value!)
    expect((await coze.chat.retrieve(c.conversation_id, c.id)).id).toBe(c.id)
    expect((await coze.chat.cancel(c.conversation_id, c.id)).status).toBe('canceled')
    const rest = await drain({ [Symbol.asyncIterator]: () => gen })
    expect(names(rest.events)).not.toContain('conversation.chat.completed')
    expect(names(rest.events).at(-1)).toBe('done')
  })
})

describe('the question chatflow', () => {
  const ask = (content: string, conversation_id?: string) =>
    drain(coze.workflows.chat.stream({ workflow_id: CHATFLOW_QUESTION_ID, additional_messages: [user(content)], ...(conversation_id ? { conversation_id } : {}) }))

  it('asks its question as the answer and completes; the next message on the conversation is the reply', async () => {
    const t1 = await ask('hi')
    expect(answerOf(t1.events)).toBe(CHATFLOW_QUESTION)
    expect(CHATFLOW_QUESTION).toBe('What is your name?')
    expect(names(t1.events).slice(-2)).toEqual(['conversation.chat.completed', 'done'])
    const convId = data(t1.events[0]!).conversation_id
    const t2 = await ask('Ann', convId)
    expect(answerOf(t2.events)).toBe('Nice to meet you, Ann!')
    // answered: the flow starts over and asks again
    expect(answerOf((await ask('hello again', convId)).events)).toBe(CHATFLOW_QUESTION)
  })

  it('waits per conversation: another conversation is asked afresh', async () => {
    const a = await ask('hi')
    const b = await ask('Bob')
    expect(answerOf(b.events)).toBe(CHATFLOW_QUESTION)
    expect(answerOf((await ask('Ann', data(a.events[0]!).conversation_id)).events)).toBe('Nice to meet you, Ann!')
  })

  it('a failed question turn does not count as asked', async () => {
    emu.faults.inject({ kind: 'chat_failed' }, { path: '/v1/workflows/chat', times: 1 })
    const t1 = await ask('hi')
    expect(names(t1.events)).toContain('conversation.chat.failed')
    expect(answerOf((await ask('Ann', data(t1.events[0]!).conversation_id)).events)).toBe(CHATFLOW_QUESTION)
  })
})

describe('errors', () => {
  it('a missing required input is 4000 naming it; given, the chatflow uses it', async () => {
    const missing = await drain(coze.workflows.chat.stream({ workflow_id: CHATFLOW_REQUIRED_ID, additional_messages: [user('x')] }))
    expect(missing.events).toHaveLength(1)
    expect(missing.events[0]!.event).toBe('error')
    expect(data(missing.events[0]!)).toMatchObject({ code: 4000, msg: expect.stringContaining('topic') })
    const ok = await drain(coze.workflows.chat.stream({ workflow_id: CHATFLOW_REQUIRED_ID, parameters: { topic: 'tea' }, additional_messages: [user('tell me')] }))
    expect(answerOf(ok.events)).toBe('Topic: tea. You said: "tell me".')
  })

  it('unknown workflow 4200; app_id with bot_id 4000; no additional_messages 4000', async () => {
    const cases: Array<[Record<string, unknown>, number]> = [
      [{ workflow_id: 'wf-nope', additional_messages: [user('x')] }, 4200],
      [{ workflow_id: CHATFLOW_ECHO_ID, app_id: 'a', bot_id: 'b', additional_messages: [user('x')] }, 4000],
      [{ workflow_id: CHATFLOW_ECHO_ID, additional_messages: [] }, 4000]
    ]
    for (const [params, code] of cases) {
      const { events } = await drain(coze.workflows.chat.stream(params as any))
      expect(events.map((e) => [e.event, data(e).code])).toEqual([['error', code]])
    }
  })
})

describe('faults on /v1/workflows/chat', () => {
  const flow = (workflow_id: string, opts?: Record<string, unknown>) => drain(coze.workflows.chat.stream({ workflow_id, additional_messages: [user('one two three four')] }, opts))

  it.each([4013, 4100, 5000])('fault-%i: one error event with the envelope', async (code) => {
    const { events } = await flow(`fault-${code}`)
    expect(events).toEqual([{ event: 'error', data: { code, msg: expect.any(String), detail: { logid: expect.stringMatching(LOGID_RE) } } }])
  })

  it('fault-http-429 and fault-reset throw; fault-hang times out', async () => {
    expect((await flow('fault-http-429')).error).toBeInstanceOf(RateLimitError)
    expect((await flow('fault-reset')).error).toBeInstanceOf(InternalServerError)
    expect((await flow('fault-hang', { timeout: 150 })).error).toBeInstanceOf(TimeoutError)
  })

  it('fault-truncate: two deltas then the stream ends without completed or done', async () => {
    expect(names((await flow('fault-truncate')).events)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress', 'delta', 'delta'])
  })

  it('fault-stream-error and fault-chat-failed end with done carrying {debug_url}', async () => {
    const se = await flow('fault-stream-error')
    expect(names(se.events)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress', 'delta', 'delta', 'error', 'done'])
    const cf = await flow('fault-chat-failed-1')
    expect(names(cf.events)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress', 'delta', 'conversation.chat.failed', 'done'])
    expect(data(cf.events[3]!).last_error.code).toBe(5000)
    const res = await raw(emu, 'POST', '/v1/workflows/chat', { workflow_id: 'fault-stream-error', additional_messages: [{ role: 'user', content: 'a b c', content_type: 'text' }] })
    expect(res.text).toMatch(/event:done\ndata:\{"debug_url":"https:[^"]+"\}\n\n$/)
  })

  it('fault-malformed makes the SDK throw CozeError', async () => {
    const { error } = await flow('fault-malformed')
    expect(error).toBeInstanceOf(CozeError)
    expect((error as Error).message).toMatch(/^Could not parse message into JSON:/)
  })

  it('fault-latency-<ms> delays the headers, then answers like chatflow-echo', async () => {
    const t = Date.now()
    const { events } = await flow('fault-latency-120')
    expect(Date.now() - t).toBeGreaterThanOrEqual(110)
    expect(answerOf(events)).toContain('You said: "one two three four"')
  })

  it('registry faults match the path; a client leaving mid-stream is recorded as aborted', async () => {
    emu.faults.inject({ kind: 'http_status', status: 503 }, { path: '/v1/workflows/chat', times: 1 })
    expect((await flow(CHATFLOW_ECHO_ID)).error).toBeInstanceOf(InternalServerError)
    const ac = new AbortController()
    emu.faults.inject({ kind: 'latency', deltaMs: 50 }, { path: '/v1/workflows/chat', times: 1 })
    const gen = coze.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, additional_messages: [user('leave me')] }, { signal: ac.signal })[Symbol.asyncIterator]()
    await gen.next()
    const rec = emu.requests.at(-1)!
    ac.abort()
    await drain({ [Symbol.asyncIterator]: () => gen })
    await waitFor(() => rec.aborted)
  })

  it('an unknown id is not a fault id: 4200', async () => {
    const { error, events } = await flow('nope')
    expect(error).toBeUndefined()
    expect(data(events[0]!).code).toBe(4200)
  })
})
