import { describe, expect, it } from 'vitest'
import { APIError, BadRequestError, CozeAPI, NotFoundError } from '@coze/api'
import type { StreamChatData } from '@coze/api'
import { DEFAULT_BOT_ID } from '../../src/emulator/index.js'
import type { Emulator } from '../../src/emulator/index.js'
import { assistant, caught, drain, names, useEmulator, user, waitFor } from './helpers.js'

let emu: Emulator
let coze: CozeAPI

useEmulator((e, c) => { emu = e; coze = c })

function data (ev: StreamChatData): any {
  return ev.data
}

function answerOf (events: StreamChatData[]): string {
  const done = events.find((e) => e.event === 'conversation.message.completed' && data(e).type === 'answer')
  return done ? data(done).content : ''
}

describe('POST /v3/chat stream with the default bot', () => {
  it('yields created, in_progress, >=3 deltas, completed, chat.completed, done', async () => {
    const { events, error } = await drain(coze.chat.stream({ bot_id: DEFAULT_BOT_ID, additional_messages: [user('hello there friend')] }))
    expect(error).toBeUndefined()
    const n = names(events)
    expect(n.slice(0, 2)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress'])
    expect(n.slice(-3)).toEqual(['conversation.message.completed', 'conversation.chat.completed', 'done'])
    const deltas = events.filter((e) => e.event === 'conversation.message.delta')
    expect(deltas.length).toBeGreaterThanOrEqual(3)
    expect(n.slice(2, 2 + deltas.length).every((x) => x === 'delta')).toBe(true)
    for (const d of deltas) expect(data(d).content.length).toBeGreaterThan(0)
    const full = answerOf(events)
    expect(deltas.map((d) => data(d).content).join('')).toBe(full)
    expect(full).toBe('Turn 1. You said: "hello there friend". [context: user]')
    expect(events.at(-1)).toEqual({ event: 'done', data: '[DONE]' })
  })

  it('uses one chat id and one conversation id throughout, as strings, with seconds timestamps', async () => {
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('ids')] }))
    const created = data(events[0]!)
    expect(typeof created.id).toBe('string')
    expect(typeof created.conversation_id).toBe('string')
    expect(created.bot_id).toBe('bot-echo')
    expect(created.status).toBe('created')
    expect(created.last_error).toEqual({ code: 0, msg: '' })
    expect(created.created_at).toBeLessThan(1e11)
    for (const e of events.slice(0, -1)) {
      const d = data(e)
      expect(d.conversation_id).toBe(created.conversation_id)
      if (e.event.startsWith('conversation.message')) {
        expect(d.chat_id).toBe(created.id)
        expect(d.role).toBe('assistant')
        expect(d.type).toBe('answer')
        expect(d.content_type).toBe('text')
      } else {
        expect(d.id).toBe(created.id)
      }
    }
  })

  it('reports deterministic non-zero usage on completion', async () => {
    const run = async (): Promise<any> => data((await drain(coze.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('count me')] }))).events.find((e) => e.event === 'conversation.chat.completed')!)
    const a = await run()
    const b = await run()
    expect(a.status).toBe('completed')
    expect(a.completed_at).toBeGreaterThan(0)
    expect(a.usage.input_count).toBeGreaterThan(0)
    expect(a.usage.output_count).toBeGreaterThan(0)
    expect(a.usage.token_count).toBe(a.usage.input_count + a.usage.output_count)
    expect(b.usage).toEqual(a.usage)
  })

  it('sees the roles and questions of additional_messages (stateless history)', async () => {
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('first'), assistant('reply'), user('second')] }))
    expect(answerOf(events)).toBe('Turn 2. You said: "second". Earlier you said: "first". [context: user,assistant,user]')
  })
})

describe('conversation state', () => {
  it('keeps the turns of a conversation and quotes the previous question', async () => {
    const conv = await coze.conversations.create({ bot_id: 'bot-echo' })
    const t1 = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('my name is Ann')] }))
    expect(answerOf(t1.events)).toBe('Turn 1. You said: "my name is Ann". [context: user]')
    const t2 = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('what is my name?')] }))
    expect(answerOf(t2.events)).toBe('Turn 2. You said: "what is my name?". Earlier you said: "my name is Ann". [context: user,assistant,user]')
  })

  it('creates a conversation when none is given and returns its id', async () => {
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('new')] }))
    const convId = data(events[0]!).conversation_id
    const conv = await coze.conversations.retrieve(convId)
    expect(conv.id).toBe(convId)
    const next = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: convId, additional_messages: [user('again')] }))
    expect(answerOf(next.events)).toContain('Turn 2.')
  })

  it('clear starts a new section: earlier turns are no longer seen', async () => {
    const conv = await coze.conversations.create({ bot_id: 'bot-echo' })
    await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('before clear')] }))
    const cleared = await coze.conversations.clear(conv.id)
    expect(cleared.conversation_id).toBe(conv.id)
    expect(cleared.id).not.toBe(conv.last_section_id)
    expect((await coze.conversations.retrieve(conv.id)).last_section_id).toBe(cleared.id)
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('after clear')] }))
    expect(answerOf(events)).toBe('Turn 1. You said: "after clear". [context: user]')
    expect(data(events[0]!).section_id).toBe(cleared.id)
  })

  it('does not save a turn sent with auto_save_history=false', async () => {
    const conv = await coze.conversations.create({ bot_id: 'bot-echo' })
    await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, auto_save_history: false, additional_messages: [user('forget me')] }))
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('remember me')] }))
    expect(answerOf(events)).toBe('Turn 1. You said: "remember me". [context: user]')
  })

  it('an unknown conversation_id is 4200 (NotFoundError, or an error event on a stream)', async () => {
    const err = await caught(coze.chat.create({ bot_id: 'bot-echo', conversation_id: '7000000000000000000', additional_messages: [user('x')] }))
    expect(err).toBeInstanceOf(NotFoundError)
    expect(err.code).toBe(4200)
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: '7000000000000000000', additional_messages: [user('x')] }))
    expect(events).toHaveLength(1)
    expect(events[0]!.event).toBe('error')
    expect(data(events[0]!).code).toBe(4200)
  })

  it('a second chat while one is running on the conversation gets 4016', async () => {
    const conv = await coze.conversations.create({ bot_id: 'bot-echo' })
    const running = coze.chat.stream({ bot_id: 'bot-slow-150', conversation_id: conv.id, additional_messages: [user('slow one')] })[Symbol.asyncIterator]()
    const first = await running.next()
    expect(first.value?.event).toBe('conversation.chat.created')

    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('overlap')] }))
    expect(events.map((e) => [e.event, data(e).code])).toEqual([['error', 4016]])
    const err = await caught(coze.chat.create({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('overlap')] }))
    expect(err).toBeInstanceOf(APIError)
    expect(err.code).toBe(4016)

    await coze.chat.cancel(conv.id, data(first.value!).id)
    await drain({ [Symbol.asyncIterator]: () => running })
    const after = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('after')] }))
    expect(names(after.events).at(-1)).toBe('done')
  })

  it('a running non-stream chat also blocks the conversation (4016) until it ends', async () => {
    const conv = await coze.conversations.create({ bot_id: 'bot-echo' })
    const chat = await coze.chat.create({ bot_id: 'bot-slow-60', conversation_id: conv.id, additional_messages: [user('busy for a moment')] })
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('overlap')] }))
    expect(events.map((e) => [e.event, data(e).code])).toEqual([['error', 4016]])
    let status = chat.status as string
    for (let i = 0; i < 200 && status !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 10))
      status = (await coze.chat.retrieve(conv.id, chat.id)).status
    }
    expect(status).toBe('completed')
    const after = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('now')] }))
    expect(names(after.events).at(-1)).toBe('done')
  })

  it('an unknown bot id is 4200', async () => {
    const err = await caught(coze.chat.create({ bot_id: '123', additional_messages: [user('x')] }))
    expect(err).toBeInstanceOf(NotFoundError)
    expect(err.code).toBe(4200)
  })

  it('bad additional_messages are 4000', async () => {
    const err = await caught(coze.chat.create({ bot_id: 'bot-echo', additional_messages: [{ role: 'robot', content: 'x', content_type: 'text' } as any] }))
    expect(err).toBeInstanceOf(BadRequestError)
    expect(err.code).toBe(4000)
  })
})

describe('non-stream chat lifecycle', () => {
  it('create answers in_progress, then retrieve reaches completed and message/list has the answer', async () => {
    const chat = await coze.chat.create({ bot_id: 'bot-echo', additional_messages: [user('non stream')] })
    expect(chat.status).toBe('in_progress')
    expect(typeof chat.id).toBe('string')
    let status = chat.status as string
    for (let i = 0; i < 200 && status !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 10))
      status = (await coze.chat.retrieve(chat.conversation_id, chat.id)).status
    }
    expect(status).toBe('completed')
    const messages = await coze.chat.messages.list(chat.conversation_id, chat.id)
    expect(messages.map((m) => [m.role, m.type, m.content])).toEqual([['assistant', 'answer', 'Turn 1. You said: "non stream". [context: user]']])
  })

  it('createAndPoll returns the completed chat and its messages', async () => {
    const { chat, messages } = await coze.chat.createAndPoll({ bot_id: 'bot-echo', additional_messages: [user('poll')] })
    expect(chat.status).toBe('completed')
    expect(chat.usage?.token_count).toBeGreaterThan(0)
    expect(messages?.[0]?.content).toBe('Turn 1. You said: "poll". [context: user]')
  })

  it('non-stream requires auto_save_history (4000)', async () => {
    const err = await caught(coze.chat.create({ bot_id: 'bot-echo', auto_save_history: false, additional_messages: [user('x')] }))
    expect(err).toBeInstanceOf(BadRequestError)
  })

  it('cancel turns a running chat into canceled; a finished chat cannot be canceled (4104)', async () => {
    emu.setSlowDeltaMs(100)
    const chat = await coze.chat.create({ bot_id: 'bot-slow', additional_messages: [user('cancel me please')] })
    const canceled = await coze.chat.cancel(chat.conversation_id, chat.id)
    expect(canceled.status).toBe('canceled')
    expect((await coze.chat.retrieve(chat.conversation_id, chat.id)).status).toBe('canceled')
    const again = await caught(coze.chat.cancel(chat.conversation_id, chat.id))
    expect(again).toBeInstanceOf(APIError)
    expect(again.code).toBe(4104)
    // the conversation is free again
    const next = await coze.chat.createAndPoll({ bot_id: 'bot-echo', conversation_id: chat.conversation_id, additional_messages: [user('next')] })
    expect(next.chat.status).toBe('completed')
    const done = await caught(coze.chat.cancel(next.chat.conversation_id, next.chat.id))
    expect(done.code).toBe(4104)
    emu.setSlowDeltaMs(200)
  })

  it('cancel of an unknown chat is 4200', async () => {
    const err = await caught(coze.chat.cancel('1', '2'))
    expect(err).toBeInstanceOf(NotFoundError)
  })

  it('a streaming chat canceled mid-way stops and ends with done, without chat.completed', async () => {
    const gen = coze.chat.stream({ bot_id: 'bot-slow-100', additional_messages: [user('stop this stream now')] })[Symbol.asyncIterator]()
    const created = (await gen.next()).value as StreamChatData
    const c = data(created)
    expect((await coze.chat.cancel(c.conversation_id, c.id)).status).toBe('canceled')
    const rest = await drain({ [Symbol.asyncIterator]: () => gen })
    expect(names(rest.events)).not.toContain('conversation.chat.completed')
    expect(names(rest.events).at(-1)).toBe('done')
  })

  it('a client that leaves mid-stream is recorded as aborted and frees the conversation', async () => {
    const ac = new AbortController()
    const conv = await coze.conversations.create({ bot_id: 'bot-echo' })
    const gen = coze.chat.stream({ bot_id: 'bot-slow-30', conversation_id: conv.id, additional_messages: [user('i will leave early')] }, { signal: ac.signal })[Symbol.asyncIterator]()
    await gen.next()
    const rec = emu.requests.at(-1)!
    ac.abort()
    await drain({ [Symbol.asyncIterator]: () => gen })
    await waitFor(() => rec.aborted)
    expect(rec.finished).toBe(false)
    const next = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('back')] }))
    expect(names(next.events).at(-1)).toBe('done')
  })
})
