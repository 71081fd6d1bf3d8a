import { connect } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AuthenticationError, CozeAPI, InternalServerError } from '@coze/api'
import { startEmulator } from '../../src/emulator/index.js'
import type { Emulator } from '../../src/emulator/index.js'
import { LOGID_RE, caught, drain, names, raw, user } from './helpers.js'

let emu: Emulator
let coze: CozeAPI

beforeAll(async () => {
  emu = await startEmulator({ tokens: ['tok_a', 'tok_b'] })
  coze = new CozeAPI({ token: emu.token, baseURL: emu.url })
})
afterEach(() => emu.faults.clear())
afterAll(async () => { await emu.close() })

describe('startEmulator', () => {
  it('listens on loopback with a random port and exposes url and the first token', () => {
    expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(emu.token).toBe('tok_a')
  })

  it('generates an emu_<hex> token by default', async () => {
    const e = await startEmulator()
    try {
      expect(e.token).toMatch(/^emu_[0-9a-f]+$/)
      await expect(new CozeAPI({ token: e.token, baseURL: e.url }).users.me()).resolves.toBeDefined()
    } finally {
      await e.close()
    }
  })
})

describe('chat SSE framing', () => {
  it('is exactly event:X / data:<one-line JSON> / blank, no id or comments, ending with done', async () => {
    const res = await raw(emu, 'POST', '/v3/chat', { bot_id: 'bot-followup', stream: true, additional_messages: [{ role: 'user', content: 'frame "me"\nplease', content_type: 'text' }] })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(res.headers.get('x-tt-logid')).toMatch(LOGID_RE)
    expect(res.text.endsWith('event:done\ndata:"[DONE]"\n\n')).toBe(true)
    const frames = res.text.split('\n\n')
    expect(frames.pop()).toBe('')
    for (const f of frames) {
      const lines = f.split('\n')
      expect(lines).toHaveLength(2)
      expect(lines[0]).toMatch(/^event:[a-z._]+$/)
      expect(lines[1]!.startsWith('data:')).toBe(true)
      expect(() => JSON.parse(lines[1]!.slice(5))).not.toThrow()
    }
    expect(res.text).not.toMatch(/^id:/m)
    expect(res.text).not.toMatch(/^:/m)
  })

  it('decides streaming from the body, never from Accept', async () => {
    const r = await fetch(emu.url + '/v3/chat', {
      method: 'POST',
      headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ bot_id: 'bot-echo', stream: false, additional_messages: [{ role: 'user', content: 'x', content_type: 'text' }] })
    })
    expect(r.headers.get('content-type')).toContain('application/json')
    const body = await r.json() as any
    expect(body).toMatchObject({ code: 0, msg: '', data: { status: 'in_progress' }, detail: { logid: r.headers.get('x-tt-logid') } })
  })
})

describe('envelope and logid', () => {
  it('every JSON answer has numeric code 0, msg "", detail.logid equal to the x-tt-logid header, and no trailing newline', async () => {
    const res = await raw(emu, 'GET', '/v1/users/me')
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(res.text.endsWith('\n')).toBe(false)
    const body = JSON.parse(res.text)
    expect(body.code).toBe(0)
    expect(body.msg).toBe('')
    expect(body.detail.logid).toBe(res.headers.get('x-tt-logid'))
    expect(body.detail.logid).toMatch(LOGID_RE)
  })

  it('an unknown path is HTTP 404 with a JSON envelope and a logid', async () => {
    const res = await raw(emu, 'GET', '/v9/nothing')
    expect(res.status).toBe(404)
    const body = JSON.parse(res.text)
    expect(body.code).not.toBe(0)
    expect(body.detail.logid).toBe(res.headers.get('x-tt-logid'))
  })
})

describe('auth', () => {
  it('a missing or wrong token is HTTP 200 code 4100 "authentication is invalid"', async () => {
    for (const token of [null, 'wrong']) {
      const res = await raw(emu, 'GET', '/v1/users/me', undefined, token)
      expect(res.status).toBe(200)
      expect(JSON.parse(res.text)).toEqual({ code: 4100, msg: 'authentication is invalid', detail: { logid: res.headers.get('x-tt-logid') } })
    }
  })

  it('the SDK throws AuthenticationError (status 401, code 4100, logid) on non-stream calls', async () => {
    const bad = new CozeAPI({ token: 'wrong', baseURL: emu.url })
    const err = await caught(bad.users.me())
    expect(err).toBeInstanceOf(AuthenticationError)
    expect(err.status).toBe(401)
    expect(err.code).toBe(4100)
    expect(err.msg).toBe('authentication is invalid')
    expect(err.logid).toMatch(LOGID_RE)
  })

  it('on stream calls the SDK yields the 4100 body as an error event (JSON without trailing newline)', async () => {
    const bad = new CozeAPI({ token: 'wrong', baseURL: emu.url })
    const { events, error } = await drain(bad.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('x')] }))
    expect(error).toBeUndefined()
    expect(events).toEqual([{ event: 'error', data: { code: 4100, msg: 'authentication is invalid', detail: { logid: expect.stringMatching(LOGID_RE) } } }])
  })

  it('accepts every configured token, and a token function', async () => {
    await expect(new CozeAPI({ token: 'tok_b', baseURL: emu.url }).users.me()).resolves.toBeDefined()
    await expect(new CozeAPI({ token: async () => 'tok_a', baseURL: emu.url }).users.me()).resolves.toBeDefined()
  })
})

describe('routing tolerance (protocol §12.7)', () => {
  it('works with a trailing-slash baseURL (duplicate slashes)', async () => {
    const sloppy = new CozeAPI({ token: emu.token, baseURL: emu.url + '/' })
    const { events } = await drain(sloppy.chat.stream({ bot_id: 'bot-echo', additional_messages: [user('slash')] }))
    expect(names(events).at(-1)).toBe('done')
    expect(emu.requests.at(-1)!.path).toBe('/v3/chat')
  })

  it('retrieve answers GET as well as the SDK POST with an empty form body', async () => {
    const chat = await coze.chat.create({ bot_id: 'bot-echo', additional_messages: [user('x')] })
    const viaPost = await coze.chat.retrieve(chat.conversation_id, chat.id)
    const post = emu.requests.at(-1)!
    expect(post.method).toBe('POST')
    expect(post.headers['content-type']).toContain('application/x-www-form-urlencoded')
    const viaGet = await raw(emu, 'GET', `/v3/chat/retrieve?conversation_id=${chat.conversation_id}&chat_id=${chat.id}`)
    expect(JSON.parse(viaGet.text).data.id).toBe(viaPost.id)
  })
})

describe('recorded requests', () => {
  it('records method, path, query, headers and the parsed body, in order', async () => {
    await coze.chat.retrieve('c1', 'c2').catch(() => undefined)
    await coze.chat.create({ bot_id: 'bot-echo', additional_messages: [user('record me')], meta_data: { k: 'v' } })
    const [a, b] = emu.requests.slice(-2)
    expect(a).toMatchObject({ method: 'POST', path: '/v3/chat/retrieve', query: { conversation_id: 'c1', chat_id: 'c2' }, finished: true, aborted: false })
    expect(b!.path).toBe('/v3/chat')
    expect(b!.headers.authorization).toBe(`Bearer ${emu.token}`)
    expect(b!.body).toMatchObject({ bot_id: 'bot-echo', stream: false, meta_data: { k: 'v' }, additional_messages: [{ role: 'user', content: 'record me' }] })
  })

  it('keeps only the last 1,000 requests', async () => {
    const e = await startEmulator()
    try {
      // 1,100 pipelined requests on one socket: cheap for both sides
      const { port } = new URL(e.url)
      await new Promise<void>((resolve, reject) => {
        const sock = connect(Number(port), '127.0.0.1')
        let seen = 0
        let tail = ''
        sock.setEncoding('latin1')
        sock.on('data', (chunk: string) => {
          const text = tail + chunk
          seen += text.split('HTTP/1.1 404').length - 1
          tail = text.slice(-11)
          if (seen >= 1100) { sock.destroy(); resolve() }
        })
        sock.on('error', reject)
        sock.write(Array.from({ length: 1100 }, (_, i) => `GET /nothing/${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''))
      })
      expect(e.requests).toHaveLength(1000)
      expect(e.requests.some((r) => r.path === '/nothing/0')).toBe(false)
    } finally {
      await e.close()
    }
  })
})

describe('close()', () => {
  it('ends open streams and hanging requests, so nothing waits forever', async () => {
    const e = await startEmulator({ slowDeltaMs: 1000 })
    const c = new CozeAPI({ token: e.token, baseURL: e.url })
    const gen = c.chat.stream({ bot_id: 'bot-slow', additional_messages: [user('never finishes')] })[Symbol.asyncIterator]()
    await gen.next()
    const hanging = caught(c.chat.create({ bot_id: 'fault-hang', additional_messages: [user('x')] }))
    await new Promise((r) => setTimeout(r, 30))
    const t = Date.now()
    await e.close()
    expect(Date.now() - t).toBeLessThan(2000)
    const rest = await drain({ [Symbol.asyncIterator]: () => gen })
    expect(names(rest.events)).not.toContain('done')
    expect(await hanging).toBeInstanceOf(InternalServerError)
    await expect(e.close()).resolves.toBeUndefined()
  })
})
