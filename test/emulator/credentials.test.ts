import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AuthenticationError, CozeAPI, RateLimitError } from '@coze/api'
import { startEmulator } from '../../src/emulator/index.js'
import type { Emulator } from '../../src/emulator/index.js'
import { caught, drain, raw, user } from './helpers.js'

// A credential pool: token A is rate-limited or revoked while token B keeps working.
let emu: Emulator
let a: CozeAPI
let b: CozeAPI

beforeAll(async () => {
  emu = await startEmulator({ tokens: ['tok_A', 'tok_B'] })
  a = new CozeAPI({ token: 'tok_A', baseURL: emu.url })
  b = new CozeAPI({ token: 'tok_B', baseURL: emu.url })
})
afterEach(() => {
  emu.faults.clear()
  emu.tokens.add('tok_A')
  emu.tokens.add('tok_B')
})
afterAll(async () => { await emu.close() })

describe('per-token faults', () => {
  it('HTTP 429 with Retry-After for token A only; token B is untouched', async () => {
    emu.faults.inject({ kind: 'http_status', status: 429, retryAfter: 30 }, { token: 'tok_A' })
    const err = await caught(a.users.me())
    expect(err).toBeInstanceOf(RateLimitError)
    expect(err.headers['retry-after']).toBe('30')
    await expect(b.users.me()).resolves.toBeDefined()
    const { error } = await drain(a.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('x')] }))
    expect(error).toBeInstanceOf(RateLimitError)
    const ok = await drain(b.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('x')] }))
    expect(ok.events.at(-1)?.event).toBe('done')
  })

  it('times counts only the matching token\'s requests; add() takes the match in the fault object', async () => {
    emu.faults.add({ kind: 'coze_error', code: 4013, token: 'tok_A', path: '/v1/users/me', times: 2 })
    await expect(b.users.me()).resolves.toBeDefined()
    await expect(a.workspaces.list()).resolves.toBeDefined()
    expect((await caught(a.users.me())).code).toBe(4013)
    expect((await caught(a.users.me())).code).toBe(4013)
    await expect(a.users.me()).resolves.toBeDefined()
  })

  it('the control endpoint takes a token field', async () => {
    const res = await raw(emu, 'POST', '/__emulator/faults', { kind: 'coze_error', code: 4013, token: 'tok_B', times: 1 })
    expect(JSON.parse(res.text).data.token).toBe('tok_B')
    await expect(a.users.me()).resolves.toBeDefined()
    expect(await caught(b.users.me())).toBeInstanceOf(RateLimitError)
    await expect(b.users.me()).resolves.toBeDefined()
    const invalid = await raw(emu, 'POST', '/__emulator/faults', { kind: 'hang', token: 7 })
    expect(JSON.parse(invalid.text).code).toBe(4000)
  })
})

describe('emu.tokens: revoke and restore a static token at runtime', () => {
  it('a deleted token gets 4100 on every call; added back, it works again', async () => {
    expect(emu.tokens.has('tok_A')).toBe(true)
    emu.tokens.delete('tok_A')
    const err = await caught(a.users.me())
    expect(err).toBeInstanceOf(AuthenticationError)
    expect(err.code).toBe(4100)
    const { events } = await drain(a.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('x')] }))
    expect(events.map((e) => [e.event, (e.data as any).code])).toEqual([['error', 4100]])
    await expect(b.users.me()).resolves.toBeDefined()
    emu.tokens.add('tok_A')
    await expect(a.users.me()).resolves.toBeDefined()
  })

  it('a new token can be added', async () => {
    const c = new CozeAPI({ token: 'tok_C', baseURL: emu.url })
    expect(await caught(c.users.me())).toBeInstanceOf(AuthenticationError)
    emu.tokens.add('tok_C')
    await expect(c.users.me()).resolves.toBeDefined()
    emu.tokens.delete('tok_C')
  })
})
