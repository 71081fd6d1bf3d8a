// Sessions in a Map: for tests and single-process development. Lost on restart.
import type { Page, SessionPatch, SessionRecord, SessionStore } from './types.js'

export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory'
  private readonly sessions = new Map<string, SessionRecord>()
  private readonly owners = new Map<string, { user_id: string, expires_at: number }>()

  async get (sessionId: string): Promise<SessionRecord | undefined> {
    const r = this.live(sessionId)
    return r && { ...r }
  }

  async create (record: SessionRecord): Promise<boolean> {
    if (this.live(record.session_id)) return false
    this.sessions.set(record.session_id, { ...record })
    return true
  }

  async update (sessionId: string, patch: SessionPatch): Promise<SessionRecord | undefined> {
    const r = this.live(sessionId)
    if (!r) return undefined
    Object.assign(r, patch)
    return { ...r }
  }

  async countTurn (sessionId: string, now: number, expiresAt: number): Promise<SessionRecord | undefined> {
    const r = this.live(sessionId)
    if (!r) return undefined
    r.message_count += 1
    r.last_activity = now
    r.expires_at = expiresAt
    return { ...r }
  }

  async delete (sessionId: string): Promise<boolean> {
    return this.live(sessionId) !== undefined && this.sessions.delete(sessionId)
  }

  async listByUser (userId: string, offset: number, limit: number): Promise<Page<SessionRecord>> {
    const now = Date.now()
    const mine = [...this.sessions.values()].filter((r) => r.user_id === userId && r.expires_at > now)
    mine.sort((a, b) => b.last_activity - a.last_activity)
    return { items: mine.slice(offset, offset + limit).map((r) => ({ ...r })), total: mine.length }
  }

  async getConversationOwner (conversationId: string): Promise<string | undefined> {
    const o = this.owners.get(conversationId)
    if (o && o.expires_at <= Date.now()) { this.owners.delete(conversationId); return undefined }
    return o?.user_id
  }

  async claimConversation (conversationId: string, userId: string, expiresAt: number, force = false): Promise<string> {
    const owner = await this.getConversationOwner(conversationId)
    if (!force && owner !== undefined && owner !== userId) return owner
    this.owners.set(conversationId, { user_id: userId, expires_at: expiresAt })
    return userId
  }

  readonly claimCreated = (conversationId: string, userId: string, expiresAt: number): void => {
    this.owners.set(conversationId, { user_id: userId, expires_at: expiresAt })
  }

  async flush (): Promise<void> {}

  async sweep (now = Date.now()): Promise<number> {
    let n = 0
    for (const [id, r] of this.sessions) if (r.expires_at <= now) { this.sessions.delete(id); n++ }
    for (const [id, o] of this.owners) if (o.expires_at <= now) { this.owners.delete(id); n++ }
    return n
  }

  async ping (): Promise<void> {}

  async close (): Promise<void> {}

  private live (sessionId: string): SessionRecord | undefined {
    const r = this.sessions.get(sessionId)
    if (r && r.expires_at <= Date.now()) { this.sessions.delete(sessionId); return undefined }
    return r
  }
}
