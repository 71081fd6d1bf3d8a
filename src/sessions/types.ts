// Sessions: what a store keeps, and the lock that keeps one chat at a time per conversation.

export type SessionStatus = 'active'

/** One server-side chat session, bound to (at most) one Coze conversation. Times are epoch ms. */
export interface SessionRecord {
  session_id: string
  /** The owner: the user_id, or `<key id>:<user_id>` when gateway keys are on */
  user_id: string
  bot_id: string
  /** null until the first chat (or POST /api/v1/sessions) created the Coze conversation */
  conversation_id: string | null
  created_at: number
  last_activity: number
  /** completed chat turns since the session began, or since its last clear */
  message_count: number
  status: SessionStatus
  cleared_at: number | null
  /** last_activity + the TTL of the instance that last touched it; the record is removed after it */
  expires_at: number
}

export type SessionPatch = Partial<Pick<SessionRecord, 'conversation_id' | 'last_activity' | 'message_count' | 'cleared_at' | 'expires_at' | 'status'>>

export interface Page<T> { items: T[], total: number }

/**
 * Session and conversation-owner storage. Every implementation removes expired records
 * for real (a sweep, or Redis key TTLs) and never returns one.
 */
export interface SessionStore {
  readonly kind: 'memory' | 'sqlite' | 'redis'
  get (sessionId: string): Promise<SessionRecord | undefined>
  /** Inserts the record unless the id exists; false when it does. */
  create (record: SessionRecord): Promise<boolean>
  /** Updates an existing record; returns the new record, or undefined when it is gone. */
  update (sessionId: string, patch: SessionPatch): Promise<SessionRecord | undefined>
  /** Adds 1 to message_count and moves last_activity/expires_at, atomically. */
  countTurn (sessionId: string, now: number, expiresAt: number): Promise<SessionRecord | undefined>
  delete (sessionId: string): Promise<boolean>
  /** A user's sessions, most recently active first. */
  listByUser (userId: string, offset: number, limit: number): Promise<Page<SessionRecord>>
  /** Who a conversation created through the gateway belongs to. */
  getConversationOwner (conversationId: string): Promise<string | undefined>
  /**
   * Records the owner unless another one is recorded, and (re)sets its expiry. Returns the
   * owner now on record. `force` (a conversation Coze has just created, so any older record
   * is stale) overwrites.
   */
  claimConversation (conversationId: string, userId: string, expiresAt: number, force?: boolean): Promise<string>
  /**
   * `claimConversation(…, force)` for a conversation Coze has just created, off the chat's
   * path: the owner is on record for this process at once (reads see it), and written to
   * the store once the event-loop turn is over, batched with the others (sqlite: one
   * transaction; redis: sent at once, not awaited). `flush()` makes sure it is written.
   */
  claimCreated (conversationId: string, userId: string, expiresAt: number): void
  /** Writes what claimCreated() has not written yet; rejects when that fails. */
  flush (): Promise<void>
  /** Removes expired records now; returns how many. */
  sweep (now?: number): Promise<number>
  /** Resolves when the store can be used now (readiness); rejects saying why not. */
  ping (): Promise<void>
  close (): Promise<void>
}

export type Release = () => Promise<void>

export interface LockOptions {
  /** Bound on the wait; over it the acquire fails with 409. */
  timeoutMs: number
  /** The client left: stop waiting. */
  signal?: AbortSignal | undefined
}

/** One holder per key at a time; waiters are served first come, first served. */
export interface ChatLock {
  acquire (key: string, opts: LockOptions): Promise<Release>
  close (): Promise<void>
}
