import { describe, expect, it } from 'vitest'
import { BadRequestError, CozeAPI } from '@coze/api'
import type { StreamChatData } from '@coze/api'
import type { Emulator } from '../../src/emulator/index.js'
import { caught, drain, names, useEmulator, user } from './helpers.js'

let emu: Emulator
let coze: CozeAPI

useEmulator((e, c) => { emu = e; coze = c })

const d = (ev: StreamChatData | undefined): any => ev?.data

describe('bot-reasoning', () => {
  it('streams reasoning_content deltas with empty content first, then the answer deltas', async () => {
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-reasoning', additional_messages: [user('why is the sky blue')] }))
    const deltas = events.filter((e) => e.event === 'conversation.message.delta').map(d)
    const firstAnswer = deltas.findIndex((x) => x.content !== '')
    expect(firstAnswer).toBeGreaterThanOrEqual(3)
    for (const x of deltas.slice(0, firstAnswer)) {
      expect(x.content).toBe('')
      expect(x.reasoning_content.length).toBeGreaterThan(0)
    }
    for (const x of deltas.slice(firstAnswer)) expect(x.reasoning_content).toBeUndefined()
    const completed = d(events.find((e) => e.event === 'conversation.message.completed'))
    expect(completed.content).toBe('Turn 1. You said: "why is the sky blue". [context: user]')
    expect(completed.reasoning_content).toBe(deltas.slice(0, firstAnswer).map((x) => x.reasoning_content).join(''))
    expect(names(events).at(-1)).toBe('done')
  })
})

describe('bot-followup', () => {
  it('answers, then sends a verbose finish message and three follow_up messages as completed only', async () => {
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-followup', additional_messages: [user('tea')] }))
    const completed = events.filter((e) => e.event === 'conversation.message.completed').map(d)
    expect(completed.map((m) => m.type)).toEqual(['answer', 'verbose', 'follow_up', 'follow_up', 'follow_up'])
    expect(JSON.parse(completed[1].content).msg_type).toBe('generate_answer_finish')
    expect(completed[2].content).toBe('What else can you tell me about "tea"?')
    const deltaIds = new Set(events.filter((e) => e.event === 'conversation.message.delta').map((e) => d(e).id))
    expect([...deltaIds]).toEqual([completed[0].id])
    expect(names(events).slice(-2)).toEqual(['conversation.chat.completed', 'done'])
  })

  it('message/list of a non-stream follow-up chat holds answer, verbose and follow_ups', async () => {
    const { messages } = await coze.chat.createAndPoll({ bot_id: 'bot-followup', additional_messages: [user('tea')] })
    expect(messages?.map((m) => m.type)).toEqual(['answer', 'verbose', 'follow_up', 'follow_up', 'follow_up'])
  })
})

describe('bot-tool', () => {
  async function firstTurn (city: string): Promise<{ chat: any; callId: string; events: StreamChatData[] }> {
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-tool', additional_messages: [user(city)] }))
    const chat = d(events.find((e) => e.event === 'conversation.chat.requires_action'))
    return { chat, callId: chat.required_action.submit_tool_outputs.tool_calls[0].id, events }
  }

  it('ends the first turn with requires_action (get_weather call), then done', async () => {
    const { chat, events } = await firstTurn('Paris')
    expect(names(events)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress', 'conversation.message.completed', 'conversation.chat.requires_action', 'done'])
    expect(d(events[2]).type).toBe('function_call')
    expect(chat.status).toBe('requires_action')
    expect(chat.required_action.type).toBe('submit_tool_outputs')
    const call = chat.required_action.submit_tool_outputs.tool_calls[0]
    expect(call.type).toBe('function')
    expect(call.function).toEqual({ name: 'get_weather', arguments: '{"city":"Paris"}' })
    expect((await coze.chat.retrieve(chat.conversation_id, chat.id)).status).toBe('requires_action')
  })

  it('submit_tool_outputs (stream) continues the same chat and uses the output', async () => {
    const { chat, callId } = await firstTurn('Oslo')
    const { events, error } = await drain(coze.chat.submitToolOutputs({ conversation_id: chat.conversation_id, chat_id: chat.id, stream: true, tool_outputs: [{ tool_call_id: callId, output: 'snow, -3C' }] }))
    expect(error).toBeUndefined()
    expect(names(events)[0]).toBe('conversation.chat.created')
    expect(names(events).slice(-3)).toEqual(['conversation.message.completed', 'conversation.chat.completed', 'done'])
    for (const e of events.slice(0, -1)) expect(d(e).chat_id ?? d(e).id).toBe(chat.id)
    expect(d(events.find((e) => e.event === 'conversation.message.completed')).content).toBe('The tool said: snow, -3C')
    expect((await coze.chat.retrieve(chat.conversation_id, chat.id)).status).toBe('completed')
  })

  it('submit_tool_outputs (non-stream) returns the chat as the generator value, then completes in the background', async () => {
    const { chat, callId } = await firstTurn('Rome')
    const gen = coze.chat.submitToolOutputs({ conversation_id: chat.conversation_id, chat_id: chat.id, stream: false, tool_outputs: [{ tool_call_id: callId, output: 'sunny' }] })
    const r = await gen.next()
    expect(r.done).toBe(true)
    const returned = r.value as any
    expect(returned.id).toBe(chat.id)
    expect(returned.status).toBe('in_progress')
    let status = returned.status
    for (let i = 0; i < 200 && status !== 'completed'; i++) {
      await new Promise((res) => setTimeout(res, 10))
      status = (await coze.chat.retrieve(chat.conversation_id, chat.id)).status
    }
    expect(status).toBe('completed')
    const messages = await coze.chat.messages.list(chat.conversation_id, chat.id)
    expect(messages.map((m) => m.type)).toEqual(['function_call', 'answer'])
    expect(messages[1]!.content).toBe('The tool said: sunny')
  })

  it('a non-stream tool chat reaches requires_action (createAndPoll stops there)', async () => {
    const { chat, messages } = await coze.chat.createAndPoll({ bot_id: 'bot-tool', additional_messages: [user('Kyiv')] })
    expect(chat.status).toBe('requires_action')
    expect(chat.required_action?.submit_tool_outputs.tool_calls[0]?.function.arguments).toBe('{"city":"Kyiv"}')
    expect(messages?.map((m) => m.type)).toEqual(['function_call'])
  })

  it('an unknown tool_call_id is 4000', async () => {
    const { chat } = await firstTurn('Bern')
    const err = await caught(coze.chat.submitToolOutputs({ conversation_id: chat.conversation_id, chat_id: chat.id, stream: false, tool_outputs: [{ tool_call_id: 'nope', output: 'x' }] }).next())
    expect(err).toBeInstanceOf(BadRequestError)
    expect(err.code).toBe(4000)
    const { events } = await drain(coze.chat.submitToolOutputs({ conversation_id: chat.conversation_id, chat_id: chat.id, stream: true, tool_outputs: [{ tool_call_id: 'nope', output: 'x' }] }))
    expect(events.map((e) => [e.event, d(e).code])).toEqual([['error', 4000]])
  })

  it('the tool answer is part of the conversation history', async () => {
    const { chat, callId } = await firstTurn('Lima')
    await drain(coze.chat.submitToolOutputs({ conversation_id: chat.conversation_id, chat_id: chat.id, stream: true, tool_outputs: [{ tool_call_id: callId, output: 'mild' }] }))
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: chat.conversation_id, additional_messages: [user('and tomorrow?')] }))
    expect(d(events.find((e) => e.event === 'conversation.message.completed')).content).toBe('Turn 2. You said: "and tomorrow?". Earlier you said: "Lima". [context: user,assistant,user]')
  })
})

describe('bot-slow', () => {
  // The server sleeps before each delta, so the last delta cannot arrive before n x delay.
  // (Gaps seen by the client are not a safe measure: a busy client reads frames in bursts.)
  async function timed (botId: string): Promise<{ n: number; ms: number }> {
    const t = Date.now()
    let n = 0
    for await (const ev of coze.chat.stream({ bot_id: botId, additional_messages: [user('hi')] })) {
      if (ev.event === 'conversation.message.delta') n++
    }
    return { n, ms: Date.now() - t }
  }

  it('waits slowDeltaMs before each delta, settable with setSlowDeltaMs', async () => {
    emu.setSlowDeltaMs(40)
    const { n, ms } = await timed('bot-slow')
    expect(n).toBeGreaterThanOrEqual(3)
    expect(ms).toBeGreaterThanOrEqual(n * 40 - 5)
    emu.setSlowDeltaMs(200)
  })

  it('bot-slow-<ms> sets the delay per request', async () => {
    const { n, ms } = await timed('bot-slow-35')
    expect(ms).toBeGreaterThanOrEqual(n * 35 - 5)
  })
})
