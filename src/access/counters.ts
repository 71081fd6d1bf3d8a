// The counters behind the per-key limits that are not request rates: the Coze tokens a
// key used today (daily_tokens) and its open streams (max_streams). In memory for one
// instance; in Redis (REDIS_URL) when several instances must share them.
import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'

export type Release = () => Promise<void>

export interface LimitCounters {
  tokensUsed (keyId: string, day: string): Promise<number>
  addTokens (keyId: string, day: string, tokens: number): Promise<void>
  /** A stream slot of the key, or undefined when `max` are open already. */
  openStream (keyId: string, max: number): Promise<Release | undefined>
  close (): Promise<void>
}

/** The UTC day of `ms`, e.g. 2026-01-31: the period of daily_tokens. */
export function utcDay (ms = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 10)
}

/** The next midnight UTC after `ms`, epoch ms. */
export function nextUtcMidnight (ms = Date.now()): number {
  const d = new Date(ms)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
}

export class MemoryCounters implements LimitCounters {
  private readonly tokens = new Map<string, number>()
  private readonly streams = new Map<string, number>()

  async tokensUsed (keyId: string, day: string): Promise<number> {
    return this.tokens.get(`${keyId}|${day}`) ?? 0
  }

  async addTokens (keyId: string, day: string, n: number): Promise<void> {
    for (const k of this.tokens.keys()) if (!k.endsWith(`|${day}`)) this.tokens.delete(k)
    const k = `${keyId}|${day}`
    this.tokens.set(k, (this.tokens.get(k) ?? 0) + n)
  }

  async openStream (keyId: string, max: number): Promise<Release | undefined> {
    const open = this.streams.get(keyId) ?? 0
    if (open >= max) return undefined
    this.streams.set(keyId, open + 1)
    let released = false
    return async () => {
      if (released) return
      released = true
      const n = (this.streams.get(keyId) ?? 1) - 1
      if (n > 0) this.streams.set(keyId, n)
      else this.streams.delete(keyId)
    }
  }

  async close (): Promise<void> {}
}

// Open streams are members of a sorted set scored by the end of their lease. An instance
// renews the leases of its open streams; those of a crashed instance lapse and free
// their slots after STREAM_LEASE_MS. KEYS: set. ARGV: max, member, lease ms.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`

// KEYS: set. ARGV: lease ms, member...
const RENEW = `
local t = redis.call('TIME')
local until_ = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', until_, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`

const STREAM_LEASE_MS = 30_000
const TOKENS_TTL_SECONDS = 2 * 86_400

export class RedisCounters implements LimitCounters {
  private readonly instance = randomBytes(6).toString('hex')
  private seq = 0
  /** member → set key, for the leases this instance renews */
  private readonly open = new Map<string, string>()
  private readonly renewer: NodeJS.Timeout

  constructor (private readonly redis: Redis, private readonly prefix: string, private readonly onError: (err: unknown) => void) {
    this.renewer = setInterval(() => { this.renew().catch(onError) }, STREAM_LEASE_MS / 3)
    this.renewer.unref()
  }

  async tokensUsed (keyId: string, day: string): Promise<number> {
    return Number(await this.redis.get(this.tokensKey(keyId, day)) ?? 0)
  }

  async addTokens (keyId: string, day: string, n: number): Promise<void> {
    const k = this.tokensKey(keyId, day)
    await this.redis.multi().incrby(k, n).expire(k, TOKENS_TTL_SECONDS).exec()
  }

  async openStream (keyId: string, max: number): Promise<Release | undefined> {
    const set = `${this.prefix}streams:${keyId}`
    const member = `${this.instance}:${++this.seq}`
    const ok = await this.redis.eval(ACQUIRE, 1, set, max, member, STREAM_LEASE_MS)
    if (Number(ok) !== 1) return undefined
    this.open.set(member, set)
    let released = false
    return async () => {
      if (released) return
      released = true
      this.open.delete(member)
      try { await this.redis.zrem(set, member) } catch (err) { this.onError(err) } // the lease lapses anyway
    }
  }

  async close (): Promise<void> {
    clearInterval(this.renewer)
  }

  private tokensKey (keyId: string, day: string): string {
    return `${this.prefix}tokens:${keyId}:${day}`
  }

  private async renew (): Promise<void> {
    const bySet = new Map<string, string[]>()
    for (const [member, set] of this.open) bySet.set(set, [...(bySet.get(set) ?? []), member])
    await Promise.all([...bySet].map(([set, members]) => this.redis.eval(RENEW, 1, set, STREAM_LEASE_MS, ...members)))
  }
}
