// SESSION_STORE=redis on a real redis-server: two gateway instances behind one Redis see
// the same sessions and share the per-conversation lock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { startEmulator, type Emulator } from '../../src/emulator/index.js'
import { DEFAULT_BOT, parseSse, userMsg } from '../helpers/stack.js'
import { skipRedisTests, startRedis, type TestRedis } from '../helpers/redis.js'

describe.skipIf(skipRedisTests)('redis session store, two gateway instances', () => {
  let redis: TestRedis
  let emu: Emulator
  let a: FastifyInstance
  let b: FastifyInstance
  const prefix = `gw-test-${process.pid}:`

  const gateway = async (env: Record<string, string> = {}) => {
    const config = loadConfig({
      ENABLE_RATE_LIMIT: 'false', COZE_BOT_ID: DEFAULT_BOT, COZE_API_BASE: emu.url, COZE_API_TOKEN: emu.token,
      SESSION_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, ...env
    }, { upstreamMode: 'emulator' })
    const app = await buildApp(config, { logger: pino({ level: 'silent' }) })
    await app.ready()
    return app
  }

  beforeAll(async () => {
    redis = await startRedis()
    emu = await startEmulator({ slowDeltaMs: 20 })
    a = await gateway()
    b = await gateway()
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await emu?.close()
    await redis?.close()
  })

  const chat = (app: FastifyInstance, body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', ...body } })

  it('a session made through one instance is seen, continued, listed and cleared through the other', async () => {
    const first = (await chat(a, { session_id: 'shared', messages: [userMsg('I am on instance A')] })).json()
    const info = await b.inject({ url: '/api/v1/sessions/shared?user_id=u1' })
    expect(info.statusCode).toBe(200)
    expect(info.json().data).toMatchObject({ session_id: 'shared', user_id: 'u1', conversation_id: first.conversation_id, message_count: 1 })
    const second = (await chat(b, { session_id: 'shared', messages: [userMsg('now on B')] })).json()
    expect(second.data.content).toContain('Turn 2. You said: "now on B". Earlier you said: "I am on instance A"')
    expect(second.conversation_id).toBe(first.conversation_id)
    expect((await a.inject({ url: '/api/v1/sessions?user_id=u1' })).json().data.map((x: { session_id: string }) => x.session_id)).toContain('shared')
    expect((await b.inject({ method: 'POST', url: '/session/shared/clear?user_id=u1' })).statusCode).toBe(200)
    expect((await chat(a, { session_id: 'shared', messages: [userMsg('fresh start')] })).json().data.content).toMatch(/^Turn 1\./)
    // ownership holds across instances
    expect((await chat(b, { user_id: 'u2', session_id: 'shared', messages: [userMsg('x')] })).statusCode).toBe(404)
    expect((await a.inject({ url: '/api/v1/sessions/shared?user_id=u2' })).statusCode).toBe(404)
    expect((await b.inject({ method: 'DELETE', url: '/api/v1/sessions/shared?user_id=u1' })).statusCode).toBe(200)
    expect((await a.inject({ url: '/api/v1/sessions/shared?user_id=u1' })).statusCode).toBe(404)
  })

  it('concurrent chats on one session through both instances never reach Coze together: no 4016, each turn sees all before it', async () => {
    await chat(a, { session_id: 'contended', bot_id: 'bot-slow', messages: [userMsg('start')] })
    const n = 10
    const rs = await Promise.all(Array.from({ length: n }, (_, i) =>
      chat(i % 2 === 0 ? a : b, { session_id: 'contended', stream: i % 3 === 0, messages: [userMsg(`msg ${i}`)] })))
    const texts = rs.map((r, i) => {
      expect(r.statusCode).toBe(200)
      return i % 3 === 0 ? parseSse(r.body).filter((f) => f.type === 'message_delta').map((f) => f.content).join('') : r.json().data.content as string
    })
    expect(rs.map((r) => r.body).join('')).not.toMatch(/4016|CONVERSATION_BUSY/)
    // Every chat saw a different number of turns: they ran one after the other.
    const turns = texts.map((t) => Number(/^Turn (\d+)\./.exec(t)![1]))
    expect(turns.slice().sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i + 2))
    // Each instance served its own requests in the order they arrived.
    const onA = turns.filter((_, i) => i % 2 === 0)
    const onB = turns.filter((_, i) => i % 2 === 1)
    expect(onA).toEqual(onA.slice().sort((x, y) => x - y))
    expect(onB).toEqual(onB.slice().sort((x, y) => x - y))
    expect((await b.inject({ url: '/api/v1/sessions/contended?user_id=u1' })).json().data.message_count).toBe(n + 1)
  })

  it('plain conversation_id chats are serialized across instances too', async () => {
    const conv = (await chat(a, { bot_id: 'bot-slow', messages: [userMsg('open')] })).json().conversation_id
    const rs = await Promise.all(Array.from({ length: 6 }, (_, i) =>
      chat(i % 2 === 0 ? b : a, { bot_id: 'bot-slow', conversation_id: conv, messages: [userMsg(`c${i}`)] })))
    expect(rs.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 200])
    const turns = rs.map((r) => Number(/^Turn (\d+)\./.exec(r.json().data.content)![1])).sort((x, y) => x - y)
    expect(turns).toEqual([2, 3, 4, 5, 6, 7])
  })

  it('the queue bound holds across instances: a chat held on A makes B wait, then 409', async () => {
    const impatient = await gateway({ CHAT_QUEUE_TIMEOUT_MS: '200' })
    try {
      await chat(a, { session_id: 'held', bot_id: 'bot-slow-60', messages: [userMsg('warm up')] })
      const long = chat(a, { session_id: 'held', messages: [userMsg('a long answer')] })
      await new Promise((resolve) => setTimeout(resolve, 100))
      const r = await chat(impatient, { session_id: 'held', messages: [userMsg('me now')] })
      expect(r.statusCode).toBe(409)
      expect(r.json().message).toMatch(/still running.*CHAT_QUEUE_TIMEOUT_MS/)
      expect((await long).statusCode).toBe(200)
      // released: the impatient instance gets in now
      expect((await chat(impatient, { session_id: 'held', messages: [userMsg('me now')] })).statusCode).toBe(200)
    } finally {
      await impatient.close()
    }
  })

  it('expiry: Redis removes the session key after SESSION_TTL of inactivity', async () => {
    const short = await gateway({ SESSION_TTL: '1' })
    try {
      await chat(short, { session_id: 'brief', messages: [userMsg('hi')] })
      expect(await redis.client.exists(`${prefix}session:brief`)).toBe(1)
      const ttl = await redis.client.pttl(`${prefix}session:brief`)
      expect(ttl).toBeGreaterThan(0)
      expect(ttl).toBeLessThanOrEqual(1000)
      await new Promise((resolve) => setTimeout(resolve, 1200))
      expect(await redis.client.exists(`${prefix}session:brief`)).toBe(0)
      expect((await a.inject({ url: '/api/v1/sessions/brief?user_id=u1' })).statusCode).toBe(404)
    } finally {
      await short.close()
    }
  })

  it('Redis down: a clear 503, never a 500 or a hang', async () => {
    const dead = await gateway({ REDIS_URL: 'redis://127.0.0.1:1' })
    try {
      const r = await dead.inject({ url: '/api/v1/sessions/x' })
      expect(r.statusCode).toBe(503)
      expect(r.json()).toMatchObject({ success: false, code: 'SESSION_STORE_UNAVAILABLE' })
      const c = await chat(dead, { session_id: 'x', messages: [userMsg('hi')] })
      expect(c.statusCode).toBe(503)
    } finally {
      await dead.close()
    }
  })
})
