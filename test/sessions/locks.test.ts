// The chat lock: one holder per key, first come first served, bounded wait (409),
// abortable, and (Redis) shared by several instances and safe when a holder dies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { LocalLock } from '../../src/sessions/local-lock.js'
import { RedisLock } from '../../src/sessions/redis-lock.js'
import type { ChatLock } from '../../src/sessions/types.js'
import { ClientAbortError, GatewayError } from '../../src/errors.js'
import { skipRedisTests, startRedis, type TestRedis } from '../helpers/redis.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** n workers on one key; each records enter/leave. Returns the order they ran in and the max concurrency seen. */
async function contend (locks: ChatLock[], key: string, n: number, holdMs: number) {
  let inside = 0
  let maxInside = 0
  const order: number[] = []
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const release = await locks[i % locks.length]!.acquire(key, { timeoutMs: 10_000 })
    inside++
    maxInside = Math.max(maxInside, inside)
    order.push(i)
    await sleep(holdMs)
    inside--
    await release()
  }))
  return { order, maxInside }
}

function lockContract (name: string, make: () => ChatLock[]) {
  describe(`${name} lock`, () => {
    it('lets one holder in at a time, in the order they asked', async () => {
      const [lock] = make()
      const { order, maxInside } = await contend([lock!], 'k-order', 10, 5)
      expect(maxInside).toBe(1)
      expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    })

    it('keys are independent', async () => {
      const [lock] = make()
      const a = await lock!.acquire('k-a', { timeoutMs: 1000 })
      const b = await lock!.acquire('k-b', { timeoutMs: 1000 })
      await a(); await b()
    })

    it('gives up after the bound with a 409 that says what happened, and the queue moves on', async () => {
      const [lock] = make()
      const held = await lock!.acquire('k-timeout', { timeoutMs: 1000 })
      const err = await lock!.acquire('k-timeout', { timeoutMs: 150 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(GatewayError)
      expect((err as GatewayError).statusCode).toBe(409)
      expect((err as GatewayError).message).toMatch(/still running.*150 ms.*CHAT_QUEUE_TIMEOUT_MS/)
      const next = lock!.acquire('k-timeout', { timeoutMs: 2000 })
      await held()
      await (await next)()
    })

    it('a waiter whose client left stops waiting', async () => {
      const [lock] = make()
      const held = await lock!.acquire('k-abort', { timeoutMs: 1000 })
      const ac = new AbortController()
      const waiting = lock!.acquire('k-abort', { timeoutMs: 5000, signal: ac.signal }).catch((e: unknown) => e)
      setTimeout(() => ac.abort(), 50)
      expect(await waiting).toBeInstanceOf(ClientAbortError)
      await held()
      await (await lock!.acquire('k-abort', { timeoutMs: 1000 }))()
    })

    it('release is idempotent', async () => {
      const [lock] = make()
      const r = await lock!.acquire('k-idem', { timeoutMs: 1000 })
      await r(); await r()
      const r2 = await lock!.acquire('k-idem', { timeoutMs: 1000 })
      const waiting = lock!.acquire('k-idem', { timeoutMs: 200 }).catch((e: unknown) => e)
      await r() // a stale release must not free r2's hold
      expect(await waiting).toBeInstanceOf(GatewayError)
      await r2()
    })
  })
}

lockContract('in-process', () => [new LocalLock()])

describe.skipIf(skipRedisTests)('redis', () => {
  let redis: TestRedis
  const clients: Redis[] = []
  const connect = () => { const c = new Redis(redis.url); clients.push(c); return c }
  let n = 0
  /** A new "instance": its own connection and lock object, one shared prefix per test run. */
  const instance = (opts: { lockTtlMs?: number } = {}) => new RedisLock(connect(), { prefix: `locktest${n}:`, ...opts })
  beforeAll(async () => { redis = await startRedis() })
  afterAll(async () => { for (const c of clients) c.disconnect(); await redis?.close() })

  lockContract('redis', () => { n++; return [instance()] })

  it('two instances never hold one key together, and both get their turns', async () => {
    n++
    const { order, maxInside } = await contend([instance(), instance()], 'k-two', 12, 10)
    expect(maxInside).toBe(1)
    expect(order.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i))
    // within each instance, its own requests ran in the order they asked
    expect(order.filter((i) => i % 2 === 0)).toEqual([0, 2, 4, 6, 8, 10])
    expect(order.filter((i) => i % 2 === 1)).toEqual([1, 3, 5, 7, 9, 11])
  })

  it('the lock key is held (and extended) for as long as the holder runs, then removed', async () => {
    n++
    const a = instance({ lockTtlMs: 300 })
    const release = await a.acquire('k-long', { timeoutMs: 1000 })
    const other = instance({ lockTtlMs: 300 }).acquire('k-long', { timeoutMs: 5000 })
    let got = false
    void other.then(() => { got = true })
    await sleep(900) // three TTLs: the watchdog must have extended it
    expect(got).toBe(false)
    expect(await redis.client.exists(`locktest${n}:lock:k-long`)).toBe(1)
    await release()
    await (await other)()
    expect(await redis.client.exists(`locktest${n}:lock:k-long`)).toBe(0)
  })

  it('a holder that died (no watchdog, no release) frees the key when its TTL runs out', async () => {
    n++
    const prefix = `locktest${n}:`
    // Simulate a crashed instance: its lock key exists with a short TTL and nobody extends it.
    await redis.client.set(`${prefix}lock:k-dead`, 'dead-token', 'PX', 300)
    const started = Date.now()
    const release = await new RedisLock(connect(), { prefix }).acquire('k-dead', { timeoutMs: 5000 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    await release()
  })

  it('a waiter that died in the queue (heartbeat gone) is skipped, not waited for', async () => {
    n++
    const prefix = `locktest${n}:`
    await redis.client.zadd(`${prefix}lock:k-ghost:queue`, 0, 'ghost-token')
    const release = await new RedisLock(connect(), { prefix }).acquire('k-ghost', { timeoutMs: 500 })
    await release()
    expect(await redis.client.zscore(`${prefix}lock:k-ghost:queue`, 'ghost-token')).toBeNull()
  })
})
