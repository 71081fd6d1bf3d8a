// Sessions in an SQLite file (the default): they survive a restart of the gateway.
// better-sqlite3 is synchronous; each statement is a few microseconds on an indexed table.
import { constants, mkdirSync } from 'node:fs'
import { access } from 'node:fs/promises'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { Page, SessionPatch, SessionRecord, SessionStore } from './types.js'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sessions (
  session_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  bot_id TEXT NOT NULL,
  conversation_id TEXT,
  created_at INTEGER NOT NULL,
  last_activity INTEGER NOT NULL,
  message_count INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'active',
  cleared_at INTEGER,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id, last_activity DESC);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS conversation_owners (
  conversation_id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS owners_by_expiry ON conversation_owners (expires_at);
`

const PATCHABLE = new Set(['conversation_id', 'last_activity', 'message_count', 'cleared_at', 'expires_at', 'status'])

export interface SqliteStoreOptions {
  /** A batch of claimCreated() records that could not be written in the background (it is tried again). */
  onWriteError?: ((err: unknown) => void) | undefined
}

export class SqliteSessionStore implements SessionStore {
  readonly kind = 'sqlite'
  private readonly db: Database.Database
  private readonly stmts
  private readonly updates = new Map<string, Database.Statement<Record<string, unknown>, SessionRecord>>()
  /** claimCreated() owners not written yet: read as recorded, written in one transaction. */
  private readonly pending = new Map<string, { uid: string, exp: number }>()
  private scheduled: NodeJS.Immediate | undefined
  private readonly writePending: () => void

  constructor (readonly path: string, private readonly opts: SqliteStoreOptions = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    this.db = new Database(path)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
    // Several gateway processes (or test workers) may share one file.
    this.db.pragma('busy_timeout = 5000')
    this.db.exec(SCHEMA)
    const db = this.db
    this.stmts = {
      get: db.prepare<[string, number], SessionRecord>('SELECT * FROM sessions WHERE session_id = ? AND expires_at > ?'),
      insert: db.prepare(`INSERT INTO sessions (session_id, user_id, bot_id, conversation_id, created_at, last_activity, message_count, status, cleared_at, expires_at)
        VALUES (@session_id, @user_id, @bot_id, @conversation_id, @created_at, @last_activity, @message_count, @status, @cleared_at, @expires_at)
        ON CONFLICT (session_id) DO UPDATE SET user_id = excluded.user_id, bot_id = excluded.bot_id, conversation_id = excluded.conversation_id,
          created_at = excluded.created_at, last_activity = excluded.last_activity, message_count = excluded.message_count,
          status = excluded.status, cleared_at = excluded.cleared_at, expires_at = excluded.expires_at
        WHERE sessions.expires_at <= @now`),
      countTurn: db.prepare<[number, number, string, number], SessionRecord>(
        'UPDATE sessions SET message_count = message_count + 1, last_activity = ?, expires_at = ? WHERE session_id = ? AND expires_at > ? RETURNING *'),
      delete: db.prepare('DELETE FROM sessions WHERE session_id = ? AND expires_at > ?'),
      list: db.prepare<[string, number, number, number], SessionRecord>(
        'SELECT * FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY last_activity DESC LIMIT ? OFFSET ?'),
      count: db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ? AND expires_at > ?'),
      owner: db.prepare<[string, number], { user_id: string }>('SELECT user_id FROM conversation_owners WHERE conversation_id = ? AND expires_at > ?'),
      claim: db.prepare(`INSERT INTO conversation_owners (conversation_id, user_id, expires_at) VALUES (@cid, @uid, @exp)
        ON CONFLICT (conversation_id) DO UPDATE SET user_id = excluded.user_id, expires_at = excluded.expires_at
        WHERE @force = 1 OR conversation_owners.user_id = excluded.user_id OR conversation_owners.expires_at <= @now`),
      sweepSessions: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
      sweepOwners: db.prepare('DELETE FROM conversation_owners WHERE expires_at <= ?')
    }
    const claimAll = db.transaction((entries: Map<string, { uid: string, exp: number }>, now: number) => {
      for (const [cid, o] of entries) this.stmts.claim.run({ cid, uid: o.uid, exp: o.exp, now, force: 1 })
    })
    this.writePending = () => {
      const n = this.pending.size
      if (n === 0) return
      // one statement is its own transaction; BEGIN and COMMIT only pay off for several
      if (n === 1) for (const [cid, o] of this.pending) this.stmts.claim.run({ cid, uid: o.uid, exp: o.exp, now: Date.now(), force: 1 })
      else claimAll(this.pending, Date.now())
      this.pending.clear()
    }
  }

  async get (sessionId: string): Promise<SessionRecord | undefined> {
    return this.stmts.get.get(sessionId, Date.now())
  }

  async create (record: SessionRecord): Promise<boolean> {
    // Inserts, or takes over the id of an expired record that the sweep has not removed yet.
    return this.stmts.insert.run({ ...record, now: Date.now() }).changes === 1
  }

  async update (sessionId: string, patch: SessionPatch): Promise<SessionRecord | undefined> {
    const keys = Object.keys(patch).filter((k) => PATCHABLE.has(k))
    if (keys.length === 0) return this.get(sessionId)
    const sets = keys.sort().map((k) => `${k} = @${k}`).join(', ')
    let stmt = this.updates.get(sets)
    if (!stmt) {
      // Column names come from the PATCHABLE allow-list only.
      stmt = this.db.prepare<Record<string, unknown>, SessionRecord>(`UPDATE sessions SET ${sets} WHERE session_id = @__id AND expires_at > @__now RETURNING *`)
      this.updates.set(sets, stmt)
    }
    return stmt.get({ ...patch, __id: sessionId, __now: Date.now() })
  }

  async countTurn (sessionId: string, now: number, expiresAt: number): Promise<SessionRecord | undefined> {
    return this.stmts.countTurn.get(now, expiresAt, sessionId, Date.now())
  }

  async delete (sessionId: string): Promise<boolean> {
    return this.stmts.delete.run(sessionId, Date.now()).changes > 0
  }

  async listByUser (userId: string, offset: number, limit: number): Promise<Page<SessionRecord>> {
    const now = Date.now()
    return { items: this.stmts.list.all(userId, now, limit, offset), total: this.stmts.count.get(userId, now)?.n ?? 0 }
  }

  async getConversationOwner (conversationId: string): Promise<string | undefined> {
    const p = this.pending.get(conversationId)
    if (p) return p.uid
    return this.stmts.owner.get(conversationId, Date.now())?.user_id
  }

  async claimConversation (conversationId: string, userId: string, expiresAt: number, force = false): Promise<string> {
    // in the order they were made: a claim never overtakes one still pending
    this.writePending()
    this.stmts.claim.run({ cid: conversationId, uid: userId, exp: expiresAt, now: Date.now(), force: force ? 1 : 0 })
    // a forced claim always wins: no need to read it back
    return force ? userId : (await this.getConversationOwner(conversationId)) ?? userId
  }

  // Off the chat's path: the owners of new conversations are written once the event loop
  // turn is over, several in one transaction when they come together (a commit, its WAL
  // write, costs several times the statement). This process reads them from `pending` until then.
  readonly claimCreated = (conversationId: string, userId: string, expiresAt: number): void => {
    this.pending.set(conversationId, { uid: userId, exp: expiresAt })
    this.scheduled ??= setImmediate(() => {
      this.scheduled = undefined
      try { this.writePending() } catch (err) { this.opts.onWriteError?.(err) }
    })
  }

  async flush (): Promise<void> {
    this.writePending()
  }

  async sweep (now = Date.now()): Promise<number> {
    this.writePending()
    return this.stmts.sweepSessions.run(now).changes + this.stmts.sweepOwners.run(now).changes
  }

  /** The database is open, and its file and folder writable (a deleted folder, a read-only mount or lost permissions fail). */
  async ping (): Promise<void> {
    if (!this.db.open) throw new Error('the session database is closed')
    if (this.path === ':memory:') return
    await access(this.path, constants.R_OK | constants.W_OK)
    await access(dirname(this.path), constants.W_OK)
  }

  async close (): Promise<void> {
    clearImmediate(this.scheduled)
    this.scheduled = undefined
    if (!this.db.open) return
    try { this.writePending() } catch (err) { this.opts.onWriteError?.(err) }
    this.db.close()
  }
}
