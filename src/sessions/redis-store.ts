// Sessions in Redis, shared by several gateway instances. Each session is a hash whose
// key expires at the record's expires_at (Redis removes it); a per-user sorted set
// (score = expires_at) indexes a user's sessions and is trimmed of expired ids on read.
import type { Redis } from 'ioredis'
import type { Page, SessionPatch, SessionRecord, SessionStore } from './types.js'

const NUMERIC = ['created_at', 'last_activity', 'message_count', 'expires_at'] as const

// Sets the sorted set's own expiry to ARGV[1] when that is later than its current one.
const EXTEND_INDEX = `
local function extend(key, at)
  local ttl = redis.call('PTTL', key)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if ttl < 0 or now + ttl < tonumber(at) then redis.call('PEXPIREAT', key, at) end
end
`

// KEYS: session, user index. ARGV: expires_at, session_id, field, value, ...
const CREATE = EXTEND_INDEX + `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
extend(KEYS[2], ARGV[1])
return 1
`

// KEYS: session. ARGV: index key prefix, expires_at ('' = unchanged), field, value, ...
const UPDATE = EXTEND_INDEX + `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
if ARGV[2] ~= '' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  local idx = ARGV[1] .. redis.call('HGET', KEYS[1], 'user_id')
  redis.call('ZADD', idx, ARGV[2], redis.call('HGET', KEYS[1], 'session_id'))
  extend(idx, ARGV[2])
end
return redis.call('HGETALL', KEYS[1])
`

// KEYS: session. ARGV: index key prefix, last_activity, expires_at
const COUNT_TURN = EXTEND_INDEX + `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HINCRBY', KEYS[1], 'message_count', 1)
redis.call('HSET', KEYS[1], 'last_activity', ARGV[2], 'expires_at', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
local idx = ARGV[1] .. redis.call('HGET', KEYS[1], 'user_id')
redis.call('ZADD', idx, ARGV[3], redis.call('HGET', KEYS[1], 'session_id'))
extend(idx, ARGV[3])
return redis.call('HGETALL', KEYS[1])
`

// KEYS: session. ARGV: index key prefix
const DELETE = `
local uid = redis.call('HGET', KEYS[1], 'user_id')
if not uid then return 0 end
redis.call('ZREM', ARGV[1] .. uid, redis.call('HGET', KEYS[1], 'session_id'))
return redis.call('DEL', KEYS[1])
`

// KEYS: owner. ARGV: user_id, expires_at, force ('1'). Returns the owner on record.
const CLAIM = `
local o = redis.call('GET', KEYS[1])
if o and o ~= ARGV[1] and ARGV[3] ~= '1' then return o end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return ARGV[1]
`

type Fields = Record<string, string>

function toFields (r: Partial<SessionRecord>): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined) continue
    out.push(k, v === null ? '' : String(v))
  }
  return out
}

function fromFields (f: Fields | null | undefined): SessionRecord | undefined {
  if (!f || !f.session_id) return undefined
  const r: Record<string, unknown> = { ...f }
  for (const k of NUMERIC) r[k] = Number(f[k] ?? 0)
  r.conversation_id = f.conversation_id || null
  r.cleared_at = f.cleared_at ? Number(f.cleared_at) : null
  return r as unknown as SessionRecord
}

function pairs (reply: unknown): Fields | undefined {
  if (!Array.isArray(reply)) return undefined
  const f: Fields = {}
  for (let i = 0; i + 1 < reply.length; i += 2) f[String(reply[i])] = String(reply[i + 1])
  return f
}

export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis'
  private readonly claims = new Set<Promise<void>>()
  private claimFailure: unknown

  constructor (private readonly redis: Redis, private readonly prefix: string, private readonly ownsConnection = true) {}

  private sessionKey (id: string) { return `${this.prefix}session:${id}` }
  private get indexPrefix () { return `${this.prefix}user-sessions:` }
  private ownerKey (cid: string) { return `${this.prefix}conversation-owner:${cid}` }

  async get (sessionId: string): Promise<SessionRecord | undefined> {
    const r = fromFields(await this.redis.hgetall(this.sessionKey(sessionId)))
    return r && r.expires_at > Date.now() ? r : undefined
  }

  async create (record: SessionRecord): Promise<boolean> {
    const res = await this.redis.eval(CREATE, 2, this.sessionKey(record.session_id), this.indexPrefix + record.user_id,
      String(record.expires_at), record.session_id, ...toFields(record))
    return res === 1
  }

  async update (sessionId: string, patch: SessionPatch): Promise<SessionRecord | undefined> {
    const { expires_at: exp, ...rest } = patch
    const fields = toFields(exp === undefined ? rest : { ...rest, expires_at: exp })
    const res = await this.redis.eval(UPDATE, 1, this.sessionKey(sessionId), this.indexPrefix, exp === undefined ? '' : String(exp), ...fields)
    return fromFields(pairs(res))
  }

  async countTurn (sessionId: string, now: number, expiresAt: number): Promise<SessionRecord | undefined> {
    const res = await this.redis.eval(COUNT_TURN, 1, this.sessionKey(sessionId), this.indexPrefix, String(now), String(expiresAt))
    return fromFields(pairs(res))
  }

  async delete (sessionId: string): Promise<boolean> {
    return (await this.redis.eval(DELETE, 1, this.sessionKey(sessionId), this.indexPrefix)) === 1
  }

  async listByUser (userId: string, offset: number, limit: number): Promise<Page<SessionRecord>> {
    const idx = this.indexPrefix + userId
    const now = Date.now()
    await this.redis.zremrangebyscore(idx, '-inf', now)
    const [total, ids] = await Promise.all([this.redis.zcard(idx), this.redis.zrevrange(idx, offset, offset + limit - 1)])
    if (ids.length === 0) return { items: [], total }
    const pipe = this.redis.pipeline()
    for (const id of ids) pipe.hgetall(this.sessionKey(id))
    const rows = (await pipe.exec()) ?? []
    const items = rows.map(([, f]) => fromFields(f as Fields)).filter((r): r is SessionRecord => r !== undefined && r.expires_at > now)
    return { items, total }
  }

  async getConversationOwner (conversationId: string): Promise<string | undefined> {
    return (await this.redis.get(this.ownerKey(conversationId))) ?? undefined
  }

  async claimConversation (conversationId: string, userId: string, expiresAt: number, force = false): Promise<string> {
    return String(await this.redis.eval(CLAIM, 1, this.ownerKey(conversationId), userId, String(expiresAt), force ? '1' : '0'))
  }

  // Sent at once, not awaited: Redis runs the commands of one connection in order, so a
  // later read of the owner sees it.
  readonly claimCreated = (conversationId: string, userId: string, expiresAt: number): void => {
    const sent = this.redis.eval(CLAIM, 1, this.ownerKey(conversationId), userId, String(expiresAt), '1')
      .then(() => {}, (err: unknown) => { this.claimFailure ??= err })
      .finally(() => { this.claims.delete(sent) })
    this.claims.add(sent)
  }

  async flush (): Promise<void> {
    await Promise.all(this.claims)
    const err = this.claimFailure
    this.claimFailure = undefined
    if (err !== undefined) throw err
  }

  /** Redis removes expired keys itself. */
  async sweep (): Promise<number> { return 0 }

  async ping (): Promise<void> {
    // Not connected: say so at once, rather than queue the PING until Redis is back.
    if (this.redis.status !== 'ready') throw new Error(`Redis is not connected (${this.redis.status})`)
    await this.redis.ping()
  }

  async close (): Promise<void> {
    if (this.ownsConnection) await this.redis.quit().catch(() => this.redis.disconnect())
  }
}
