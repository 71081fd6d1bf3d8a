// A fair lock shared by every gateway instance on one Redis.
//
// Within an instance, waiters first queue in a LocalLock (FIFO, no Redis traffic). The
// head of that queue takes a numbered ticket in a Redis sorted set; the holder is the
// lowest live ticket, and it owns the lock key (SET … PX) while it holds it. A watchdog
// extends the key during long chats; a crashed holder's key expires, and a crashed
// waiter's ticket is skipped once its heartbeat key expires. Release deletes the key
// only if it still holds our token (Lua), so a late release never frees someone else's.
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { ClientAbortError, errors, GatewayError } from '../errors.js'
import { LocalLock } from './local-lock.js'
import type { ChatLock, LockOptions, Release } from './types.js'

// KEYS: seq, queue. ARGV: token, alive key, alive ttl, queue ttl
const ENQUEUE = `
local n = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], n, ARGV[1])
redis.call('SET', ARGV[2], '1', 'PX', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return n
`

// KEYS: lock, queue. ARGV: token, lock ttl, alive key prefix, alive ttl.
// 1 = acquired, 0 = wait, -1 = our ticket is gone (re-enqueue).
const TRY_ACQUIRE = `
if redis.call('ZSCORE', KEYS[2], ARGV[1]) == false then return -1 end
redis.call('SET', ARGV[3] .. ARGV[1], '1', 'PX', ARGV[4])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
while true do
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  if head == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('DEL', ARGV[3] .. ARGV[1])
    return 1
  end
  if redis.call('EXISTS', ARGV[3] .. head) == 1 then return 0 end
  redis.call('ZREM', KEYS[2], head)
end
`

// KEYS: queue. ARGV: token, alive key
const LEAVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', ARGV[2])
return 1
`

// KEYS: lock. ARGV: token, ttl. Extends only our own lock.
const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`

// KEYS: lock. ARGV: token. Deletes only our own lock.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

export interface RedisLockOptions {
  prefix: string
  /** Lock key TTL; the watchdog extends it every third of this while the chat runs. */
  lockTtlMs?: number
  /** Poll interval while waiting in the Redis queue. */
  pollMs?: number
  /** Heartbeat TTL of a waiting ticket. */
  aliveTtlMs?: number
  onError?: (err: unknown, what: string) => void
}

export class RedisLock implements ChatLock {
  private readonly local = new LocalLock()
  private readonly lockTtlMs: number
  private readonly pollMs: number
  private readonly aliveTtlMs: number

  constructor (private readonly redis: Redis, private readonly opts: RedisLockOptions) {
    this.lockTtlMs = opts.lockTtlMs ?? 30_000
    this.pollMs = opts.pollMs ?? 15
    this.aliveTtlMs = opts.aliveTtlMs ?? 5_000
  }

  async acquire (key: string, opts: LockOptions): Promise<Release> {
    const deadline = Date.now() + opts.timeoutMs
    const releaseLocal = await this.local.acquire(key, opts)
    try {
      const releaseRemote = await this.acquireRemote(key, deadline, opts)
      return async () => {
        try { await releaseRemote() } finally { await releaseLocal() }
      }
    } catch (err) {
      await releaseLocal()
      throw err
    }
  }

  async close (): Promise<void> {}

  private keys (key: string) {
    const base = `${this.opts.prefix}lock:${key}`
    return { lock: base, queue: `${base}:queue`, seq: `${base}:seq`, alive: `${base}:alive:` }
  }

  private async acquireRemote (key: string, deadline: number, opts: LockOptions): Promise<Release> {
    const k = this.keys(key)
    const token = randomUUID()
    const queueTtl = String(Math.max(60_000, opts.timeoutMs * 2))
    const enqueue = () => this.redis.eval(ENQUEUE, 2, k.seq, k.queue, token, k.alive + token, String(this.aliveTtlMs), queueTtl)
    const leave = () => this.redis.eval(LEAVE, 1, k.queue, token, k.alive + token).catch((e: unknown) => this.opts.onError?.(e, 'lock leave'))
    try {
      await enqueue()
      for (;;) {
        const r = await this.redis.eval(TRY_ACQUIRE, 2, k.lock, k.queue, token, String(this.lockTtlMs), k.alive, String(this.aliveTtlMs))
        if (r === 1) break
        if (r === -1) { await enqueue(); continue }
        if (opts.signal?.aborted) throw new ClientAbortError()
        const left = deadline - Date.now()
        if (left <= 0) throw errors.conversationBusy(opts.timeoutMs)
        await sleep(Math.min(left, this.pollMs + Math.random() * this.pollMs), opts.signal)
      }
    } catch (err) {
      await leave()
      if (err instanceof ClientAbortError || err instanceof GatewayError) throw err
      throw errors.storeUnavailable(err)
    }
    return this.holder(k.lock, token)
  }

  /** Starts the watchdog and returns the release function. */
  private holder (lockKey: string, token: string): Release {
    const watchdog = setInterval(() => {
      this.redis.eval(EXTEND, 1, lockKey, token, String(this.lockTtlMs)).then((r) => {
        if (r !== 1) this.opts.onError?.(new Error(`lost the chat lock ${lockKey}`), 'lock extend')
      }, (e: unknown) => this.opts.onError?.(e, 'lock extend'))
    }, Math.max(100, Math.floor(this.lockTtlMs / 3)))
    watchdog.unref()
    let released = false
    return async () => {
      if (released) return
      released = true
      clearInterval(watchdog)
      // If Redis is unreachable here, the key still expires after lockTtlMs.
      await this.redis.eval(RELEASE, 1, lockKey, token).catch((e: unknown) => this.opts.onError?.(e, 'lock release'))
    }
  }
}

function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(t); signal?.removeEventListener('abort', done); resolve() }
    const t = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
