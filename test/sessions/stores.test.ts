// The SessionStore contract, run against every implementation (Redis on a real redis-server).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Redis } from 'ioredis'
import { MemorySessionStore } from '../../src/sessions/memory-store.js'
import { SqliteSessionStore } from '../../src/sessions/sqlite-store.js'
import { RedisSessionStore } from '../../src/sessions/redis-store.js'
import type { SessionRecord, SessionStore } from '../../src/sessions/types.js'
import { skipRedisTests, startRedis, type TestRedis } from '../helpers/redis.js'

const HOUR = 3_600_000

function record (id: string, user: string, over: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now()
  return {
    session_id: id, user_id: user, bot_id: 'bot', conversation_id: null,
    created_at: now, last_activity: now, message_count: 0, status: 'active', cleared_at: null, expires_at: now + HOUR, ...over
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** `twin`: a second store on the same data, as another gateway instance sees it (not for memory). */
function contract (name: string, make: () => Promise<SessionStore>, done: () => Promise<void> = async () => {}, twin?: () => Promise<SessionStore>) {
  describe(`${name} session store`, () => {
    let store: SessionStore
    beforeAll(async () => { store = await make() })
    afterAll(async () => { await store.close(); await done() })

    it('creates once, reads back every field, and refuses a second create of a live id', async () => {
      const r = record('s-create', 'u1', { conversation_id: 'c1', message_count: 2, cleared_at: 123 })
      expect(await store.create(r)).toBe(true)
      expect(await store.get('s-create')).toEqual(r)
      expect(await store.create(record('s-create', 'u2'))).toBe(false)
      expect((await store.get('s-create'))!.user_id).toBe('u1')
      expect(await store.get('no-such-session')).toBeUndefined()
    })

    it('updates fields (null included) and counts turns atomically', async () => {
      await store.create(record('s-upd', 'u1'))
      const u = await store.update('s-upd', { conversation_id: 'c9', cleared_at: 5 })
      expect(u).toMatchObject({ conversation_id: 'c9', cleared_at: 5 })
      expect((await store.update('s-upd', { conversation_id: null }))!.conversation_id).toBeNull()
      const exp = Date.now() + 2 * HOUR
      await Promise.all([1, 2, 3].map(() => store.countTurn('s-upd', Date.now(), exp)))
      const r = await store.get('s-upd')
      expect(r!.message_count).toBe(3)
      expect(r!.expires_at).toBe(exp)
      expect(await store.update('gone', { message_count: 1 })).toBeUndefined()
      expect(await store.countTurn('gone', 1, 2)).toBeUndefined()
    })

    it('deletes', async () => {
      await store.create(record('s-del', 'u1'))
      expect(await store.delete('s-del')).toBe(true)
      expect(await store.get('s-del')).toBeUndefined()
      expect(await store.delete('s-del')).toBe(false)
    })

    it('lists one user\'s sessions, most recently active first, with paging and a total', async () => {
      const t = Date.now()
      for (let i = 0; i < 5; i++) await store.create(record(`s-list-${i}`, 'lister', { last_activity: t + i, expires_at: t + HOUR + i }))
      await store.create(record('s-list-other', 'someone-else'))
      const p1 = await store.listByUser('lister', 0, 2)
      expect(p1.total).toBe(5)
      expect(p1.items.map((r) => r.session_id)).toEqual(['s-list-4', 's-list-3'])
      const p3 = await store.listByUser('lister', 4, 2)
      expect(p3.items.map((r) => r.session_id)).toEqual(['s-list-0'])
      await store.delete('s-list-4')
      expect((await store.listByUser('lister', 0, 10)).total).toBe(4)
    })

    it('records the first owner of a conversation and never hands it to another user', async () => {
      expect(await store.getConversationOwner('conv-x')).toBeUndefined()
      expect(await store.claimConversation('conv-x', 'alice', Date.now() + HOUR)).toBe('alice')
      expect(await store.claimConversation('conv-x', 'bob', Date.now() + HOUR)).toBe('alice')
      expect(await store.claimConversation('conv-x', 'alice', Date.now() + 2 * HOUR)).toBe('alice')
      expect(await store.getConversationOwner('conv-x')).toBe('alice')
      // a conversation Coze has just created (force) replaces a stale record
      expect(await store.claimConversation('conv-x', 'carol', Date.now() + HOUR, true)).toBe('carol')
      expect(await store.claimConversation('conv-x', 'alice', Date.now() + HOUR)).toBe('carol')
    })

    it('claimCreated: the owner reads as recorded at once, wins over a stale record, and later claims see it', async () => {
      await store.claimConversation('conv-new', 'stale', Date.now() + HOUR)
      store.claimCreated('conv-new', 'dave', Date.now() + HOUR)
      expect(await store.getConversationOwner('conv-new')).toBe('dave')
      expect(await store.claimConversation('conv-new', 'eve', Date.now() + HOUR)).toBe('dave')
      store.claimCreated('conv-new-2', 'dave', Date.now() + HOUR)
      await store.flush()
      expect(await store.getConversationOwner('conv-new-2')).toBe('dave')
    })

    // (only stores that several instances share have a twin)
    if (twin) it('claimCreated: another instance sees the owner within the event-loop turn, and surely after flush()', async () => {
      const other = await twin()
      try {
        store.claimCreated('conv-seen', 'frank', Date.now() + HOUR)
        await new Promise((resolve) => setImmediate(resolve))
        await sleep(20)
        expect(await other.getConversationOwner('conv-seen')).toBe('frank')
        store.claimCreated('conv-flushed', 'frank', Date.now() + HOUR)
        await store.flush()
        expect(await other.getConversationOwner('conv-flushed')).toBe('frank')
        expect(await other.claimConversation('conv-flushed', 'grace', Date.now() + HOUR)).toBe('frank')
      } finally {
        await other.close()
      }
    })

    it('expires records for real: never returned, then removed, and the id can be reused', async () => {
      await store.create(record('s-exp', 'u-exp', { expires_at: Date.now() + 300 }))
      await store.claimConversation('conv-exp', 'u-exp', Date.now() + 300)
      expect(await store.get('s-exp')).toBeDefined()
      await sleep(400)
      expect(await store.get('s-exp')).toBeUndefined()
      expect(await store.getConversationOwner('conv-exp')).toBeUndefined()
      expect((await store.listByUser('u-exp', 0, 10)).total).toBe(0)
      await store.sweep()
      expect(await store.create(record('s-exp', 'u-new'))).toBe(true)
      expect((await store.get('s-exp'))!.user_id).toBe('u-new')
    })
  })
}

contract('memory', async () => new MemorySessionStore())

const dir = mkdtempSync(join(tmpdir(), 'sessions-'))
contract('sqlite', async () => new SqliteSessionStore(join(dir, 'nested', 'sessions.db')), async () => { rmSync(dir, { recursive: true, force: true }) },
  async () => new SqliteSessionStore(join(dir, 'nested', 'sessions.db')))

describe('sqlite store file', () => {
  it('keeps records across reopen, and the sweep deletes expired rows from the file', async () => {
    const d = mkdtempSync(join(tmpdir(), 'sessions-'))
    const path = join(d, 's.db')
    const a = new SqliteSessionStore(path)
    await a.create(record('kept', 'u1', { conversation_id: 'c1' }))
    await a.create(record('short', 'u1', { expires_at: Date.now() + 100 }))
    await a.close()
    const b = new SqliteSessionStore(path)
    expect((await b.get('kept'))!.conversation_id).toBe('c1')
    await sleep(150)
    expect(await b.sweep()).toBe(1)
    await b.close()
    const Database = (await import('better-sqlite3')).default
    const raw = new Database(path, { readonly: true })
    expect(raw.prepare('SELECT session_id FROM sessions ORDER BY session_id').all()).toEqual([{ session_id: 'kept' }])
    raw.close()
    rmSync(d, { recursive: true, force: true })
  })
})

describe.skipIf(skipRedisTests)('redis', () => {
  let redis: TestRedis
  beforeAll(async () => { redis = await startRedis() })
  afterAll(async () => { await redis?.close() })

  contract('redis', async () => new RedisSessionStore(new Redis(redis.url), 'test:'), undefined, async () => new RedisSessionStore(new Redis(redis.url), 'test:'))

  it('sets a key TTL, so Redis itself removes an expired session', async () => {
    const store = new RedisSessionStore(new Redis(redis.url), 'ttl:')
    await store.create(record('t1', 'u1', { expires_at: Date.now() + 250 }))
    const pttl = await redis.client.pttl('ttl:session:t1')
    expect(pttl).toBeGreaterThan(0)
    expect(pttl).toBeLessThanOrEqual(250)
    await sleep(350)
    expect(await redis.client.exists('ttl:session:t1')).toBe(0)
    await store.close()
  })
})
