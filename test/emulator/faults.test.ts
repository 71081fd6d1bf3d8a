import { describe, expect, it } from 'vitest'
import {
  APIError, AuthenticationError, BadRequestError, CozeAPI, CozeError, GatewayError, InternalServerError,
  NotFoundError, PermissionDeniedError, RateLimitError, TimeoutError
} from '@coze/api'
import type { Emulator } from '../../src/emulator/index.js'
import { caught, drain, LOGID_RE, names, raw, useEmulator, user, waitFor } from './helpers.js'

let emu: Emulator
let coze: CozeAPI

useEmulator((e, c) => { emu = e; coze = c })

const ask = [user('one two three four')]
const stream = (bot = 'bot-echo', opts?: Record<string, unknown>) => drain(coze.chat.stream({ bot_id: bot, additional_messages: ask }, opts))
const create = (bot = 'bot-echo', opts?: Record<string, unknown>) => coze.chat.create({ bot_id: bot, additional_messages: ask }, opts)

async function retrieveUntil (conv: string, chat: string, status: string): Promise<any> {
  let c: any
  for (let i = 0; i < 200; i++) {
    c = await coze.chat.retrieve(conv, chat)
    if (c.status === status) return c
    await new Promise((r) => setTimeout(r, 10))
  }
  return c
}

describe('coze_error: HTTP 200 {code,msg,detail:{logid}}', () => {
  const table: Array<[number, unknown]> = [
    [4000, BadRequestError], [4013, RateLimitError], [4015, APIError], [4016, APIError], [4100, AuthenticationError],
    [4101, PermissionDeniedError], [4200, NotFoundError], [5000, APIError], [6003, APIError]
  ]
  it.each(table)('fault-%i (non-stream) throws the SDK class for the code, with code, msg and logid', async (code, cls) => {
    const err = await caught(create(`fault-${code}`))
    expect(err).toBeInstanceOf(cls)
    if (cls === APIError) expect(err.constructor).toBe(APIError)
    expect(err.code).toBe(code)
    expect(err.msg).toEqual(expect.any(String))
    expect(err.msg.length).toBeGreaterThan(0)
    expect(err.logid).toMatch(LOGID_RE)
    expect(err.headers['x-tt-logid']).toBe(err.logid)
  })

  it.each(table.map(([c]) => c))('fault-%i (stream) yields one error event carrying the envelope', async (code) => {
    const { events, error } = await stream(`fault-${code}`)
    expect(error).toBeUndefined()
    expect(events).toHaveLength(1)
    expect(events[0]!.event).toBe('error')
    expect(events[0]!.data).toEqual({ code, msg: expect.any(String), detail: { logid: expect.stringMatching(LOGID_RE) } })
  })

  it('a programmatic coze_error keeps the given msg', async () => {
    emu.faults.inject({ kind: 'coze_error', code: 4101, msg: 'no permission' })
    const err = await caught(coze.users.me())
    expect(err).toBeInstanceOf(PermissionDeniedError)
    expect(err.msg).toBe('no permission')
  })
})

describe('http_status', () => {
  const table: Array<[number, unknown, number]> = [[429, RateLimitError, 429], [500, InternalServerError, 500], [502, GatewayError, 502], [503, InternalServerError, 500]]
  it.each(table)('fault-http-%i (non-stream) throws by status with the envelope code and the logid', async (status, cls, clsStatus) => {
    const err = await caught(create(`fault-http-${status}`))
    expect(err).toBeInstanceOf(cls)
    expect(err.status).toBe(clsStatus)
    expect(err.code).toBe(status)
    expect(err.logid).toMatch(LOGID_RE)
  })

  it.each(table)('fault-http-%i (stream) throws by status only: no code, logid from the header', async (status, cls) => {
    const { events, error } = await stream(`fault-http-${status}`)
    expect(events).toEqual([])
    expect(error).toBeInstanceOf(cls)
    expect((error as any).code).toBeUndefined()
    expect((error as any).logid).toMatch(LOGID_RE)
  })

  it('answers with the status, a JSON envelope and x-tt-logid', async () => {
    emu.faults.inject({ kind: 'http_status', status: 503 }, { path: '/v1/users/me' })
    const res = await raw(emu, 'GET', '/v1/users/me')
    expect(res.status).toBe(503)
    const body = JSON.parse(res.text)
    expect(body).toEqual({ code: 503, msg: 'Service Unavailable', detail: { logid: res.headers.get('x-tt-logid') } })
  })
})

describe('reset', () => {
  it('fault-reset destroys the socket before any header: InternalServerError (status 500)', async () => {
    const err = await caught(create('fault-reset'))
    expect(err).toBeInstanceOf(InternalServerError)
    expect(err.status).toBe(500)
    const { events, error } = await stream('fault-reset')
    expect(events).toEqual([])
    expect(error).toBeInstanceOf(InternalServerError)
    const rec = emu.requests.at(-1)!
    expect(rec.finished).toBe(false)
    expect(rec.aborted).toBe(false)
  })
})

describe('hang', () => {
  it('fault-hang sends nothing: the SDK times out (stream and non-stream); the request is recorded as aborted by the client', async () => {
    const err = await caught(create('fault-hang', { timeout: 150 }))
    expect(err).toBeInstanceOf(TimeoutError)
    const { error } = await stream('fault-hang', { timeout: 150 })
    expect(error).toBeInstanceOf(TimeoutError)
    const rec = emu.requests.at(-1)!
    await waitFor(() => rec.aborted)
    expect(rec.finished).toBe(false)
  })
})

describe('stream faults in chat streams', () => {
  it('fault-truncate: two deltas, then the stream ends with no completed and no done', async () => {
    const { events, error } = await stream('fault-truncate')
    expect(error).toBeUndefined()
    expect(names(events)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress', 'delta', 'delta'])
  })

  it('fault-truncate-0: cut before the first delta', async () => {
    const { events } = await stream('fault-truncate-0')
    expect(names(events)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress'])
  })

  it('fault-stream-error: event:error mid-stream, then done; the chat is failed', async () => {
    const { events, error } = await stream('fault-stream-error')
    expect(error).toBeUndefined()
    expect(names(events)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress', 'delta', 'delta', 'error', 'done'])
    expect(events[4]!.data).toEqual({ code: 5000, msg: expect.any(String) })
    const chat = events[0]!.data as any
    const after = await coze.chat.retrieve(chat.conversation_id, chat.id)
    expect(after.status).toBe('failed')
    expect(after.last_error?.code).toBe(5000)
  })

  it('fault-chat-failed: conversation.chat.failed with last_error and failed_at, then done', async () => {
    const { events } = await stream('fault-chat-failed')
    expect(names(events)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress', 'delta', 'delta', 'conversation.chat.failed', 'done'])
    const failed = events[4]!.data as any
    expect(failed).toMatchObject({ id: (events[0]!.data as any).id, status: 'failed', last_error: { code: 5000, msg: expect.any(String) }, failed_at: expect.any(Number) })
  })

  it('a programmatic chat_failed with its own code and msg', async () => {
    emu.faults.inject({ kind: 'chat_failed', afterDeltas: 1, code: 4015, msg: 'not published' }, { path: '/v3/chat' })
    const { events } = await stream()
    expect(names(events)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress', 'delta', 'conversation.chat.failed', 'done'])
    expect((events[3]!.data as any).last_error).toEqual({ code: 4015, msg: 'not published' })
  })

  it('fault-malformed: a data line that is not JSON makes the SDK throw CozeError', async () => {
    const { events, error } = await stream('fault-malformed')
    expect(names(events)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress', 'delta', 'delta'])
    expect(error).toBeInstanceOf(CozeError)
    expect((error as Error).message).toMatch(/^Could not parse message into JSON:/)
  })

  it('stream faults on non-stream chats: chat_failed and stream_error fail the chat in the background', async () => {
    for (const bot of ['fault-chat-failed', 'fault-stream-error']) {
      const chat = await create(bot)
      expect(chat.status).toBe('in_progress')
      const after = await retrieveUntil(chat.conversation_id, chat.id, 'failed')
      expect(after.status).toBe('failed')
      expect(after.last_error.code).toBe(5000)
    }
  })

  it('stream faults on JSON answers: truncate cuts the body (APIError), malformed breaks the JSON (SDK returns undefined)', async () => {
    const cut = await caught(create('fault-truncate'))
    expect(cut).toBeInstanceOf(APIError)
    expect(cut.status).toBe(200)
    await expect(create('fault-malformed')).resolves.toBeUndefined()
  })

  it('stream_error on a JSON-only endpoint is a coze_error with its code', async () => {
    emu.faults.inject({ kind: 'stream_error', code: 4013 }, { path: '/v1/workspaces' })
    expect(await caught(coze.workspaces.list())).toBeInstanceOf(RateLimitError)
  })
})

describe('latency', () => {
  it('fault-latency-<ms> waits before the headers, then answers like the default bot', async () => {
    const t = Date.now()
    const { events } = await stream('fault-latency-150')
    expect(Date.now() - t).toBeGreaterThanOrEqual(140)
    expect(names(events).at(-1)).toBe('done')
    expect((events.find((e) => e.event === 'conversation.message.completed')!.data as any).content).toContain('You said: "one two three four"')
  })

  it('deltaMs spaces the deltas', async () => {
    emu.faults.inject({ kind: 'latency', deltaMs: 25 }, { path: '/v3/chat' })
    // the server sleeps before each delta, so the last one cannot arrive before n x 25 ms
    const t = Date.now()
    let n = 0
    for await (const ev of coze.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('a b')] })) if (ev.event === 'conversation.message.delta') n++
    expect(n).toBeGreaterThanOrEqual(3)
    expect(Date.now() - t).toBeGreaterThanOrEqual(n * 25 - 5)
  })
})

describe('FaultController', () => {
  it('times limits how often a fault applies; path matches exactly', async () => {
    emu.faults.inject({ kind: 'coze_error', code: 5000 }, { path: '/v1/users/me', times: 1 })
    await expect(coze.workspaces.list()).resolves.toBeDefined()
    expect((await caught(coze.users.me())).code).toBe(5000)
    await expect(coze.users.me()).resolves.toBeDefined()
  })

  it('path may be a RegExp; clear removes every fault', async () => {
    emu.faults.inject({ kind: 'http_status', status: 502 }, { path: /^\/v1\/(users|workspaces)/ })
    expect(await caught(coze.users.me())).toBeInstanceOf(GatewayError)
    expect(await caught(coze.workspaces.list())).toBeInstanceOf(GatewayError)
    emu.faults.clear()
    await expect(coze.users.me()).resolves.toBeDefined()
  })

  it('a programmatic fault wins over the bot id and applies to any endpoint', async () => {
    emu.faults.inject({ kind: 'truncate', afterDeltas: 1 })
    const { events } = await stream('bot-reasoning')
    expect(names(events)).toEqual(['conversation.chat.created', 'conversation.chat.in_progress', 'delta'])
  })
})

describe('control endpoint /__emulator/faults', () => {
  it('POST injects a fault (path, times), DELETE clears; both need the token', async () => {
    const denied = await raw(emu, 'POST', '/__emulator/faults', { kind: 'hang' }, null)
    expect(JSON.parse(denied.text).code).toBe(4100)

    const ok = await raw(emu, 'POST', '/__emulator/faults', { kind: 'coze_error', code: 4013, path: '/v1/users/me', times: 2 })
    expect(JSON.parse(ok.text).code).toBe(0)
    expect(await caught(coze.users.me())).toBeInstanceOf(RateLimitError)
    expect(await caught(coze.users.me())).toBeInstanceOf(RateLimitError)
    await expect(coze.users.me()).resolves.toBeDefined()

    await raw(emu, 'POST', '/__emulator/faults', { kind: 'http_status', status: 500, path: '/^\\/v1\\/users/' })
    expect(await caught(coze.users.me())).toBeInstanceOf(InternalServerError)
    const cleared = await raw(emu, 'DELETE', '/__emulator/faults')
    expect(JSON.parse(cleared.text).code).toBe(0)
    await expect(coze.users.me()).resolves.toBeDefined()
  })

  it('rejects an invalid fault with 4000', async () => {
    const res = await raw(emu, 'POST', '/__emulator/faults', { kind: 'explode' })
    expect(JSON.parse(res.text).code).toBe(4000)
  })
})
