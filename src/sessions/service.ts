// Sessions on top of a store: session CRUD, the session ↔ Coze conversation binding, and
// who owns a conversation. An owner is a user_id, or `<key id>:<user_id>` when gateway
// keys are on (src/access/policy.ts ownerOf); records keep it in their user_id field. A resource owned by another user gets exactly the same 404 as
// one that does not exist. (Chatting on a session is the chat service's: src/chat/.)
import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { EnterMessage } from '@coze/api'
import type { CozeClient, UpstreamClock } from '../coze/client.js'
import type { Route } from '../coze/credentials.js'
import { clearConversation, createConversation, type Conversation } from '../coze/conversations.js'
import { errors, GatewayError } from '../errors.js'
import { releaseAll, type ChatQueue } from './queue.js'
import type { Page, Release, SessionPatch, SessionRecord, SessionStore } from './types.js'

export interface SessionServiceOptions {
  sessionTtlMs: number
  ownerTtlMs: number
  log: FastifyBaseLogger
}

const CREDENTIAL_KEY = 'credential:'

export function newSessionId (): string {
  return `sess_${randomBytes(12).toString('hex')}`
}

export class SessionService {
  constructor (
    readonly store: SessionStore,
    readonly queue: ChatQueue,
    private readonly coze: CozeClient,
    readonly opts: SessionServiceOptions
  ) {}

  get ttlSeconds (): number { return Math.round(this.opts.sessionTtlMs / 1000) }

  /** The raw record, whoever owns it (for routing decisions; never returned to a client as is). */
  async peek (sessionId: string): Promise<SessionRecord | undefined> {
    return this.io(this.store.get(sessionId))
  }

  /**
   * The session as `owner` may see it: only a request that names the session's owner
   * (the user_id, with the key when keys are on) sees it. Unknown, expired and someone
   * else's sessions all give the same 404, and so does one asked for without an owner.
   */
  async find (sessionId: string, owner: string | undefined): Promise<SessionRecord> {
    const r = await this.peek(sessionId)
    if (!r || r.user_id !== owner) throw errors.sessionNotFound(sessionId)
    return r
  }

  async list (owner: string, pageNum: number, pageSize: number): Promise<Page<SessionRecord>> {
    return this.io(this.store.listByUser(owner, (pageNum - 1) * pageSize, pageSize))
  }

  /** A new session with a generated id; with `conversation`, its Coze conversation is created now. */
  async create (owner: string, botId: string, withConversation: boolean, signal?: AbortSignal, clock?: UpstreamClock): Promise<SessionRecord> {
    const conversationId = withConversation ? (await this.createConversation(botId, owner, signal, {}, undefined, clock)).id : null
    const record = this.newRecord(newSessionId(), owner, botId, conversationId)
    if (!await this.io(this.store.create(record))) throw errors.internal(undefined, 'Session id collision; retry.')
    return record
  }

  /** A session named by a client on its first chat; false when the id was taken meanwhile. */
  async open (sessionId: string, owner: string, botId: string): Promise<SessionRecord | undefined> {
    const record = this.newRecord(sessionId, owner, botId, null)
    return await this.io(this.store.create(record)) ? record : undefined
  }

  /** Binds the session to a Coze conversation; `fresh`: a new one, so the turn count starts again. */
  async bind (sessionId: string, conversationId: string, fresh = false): Promise<void> {
    await this.io(this.store.update(sessionId, { conversation_id: conversationId, ...(fresh ? { message_count: 0 } : {}), ...this.touch() }))
  }

  /**
   * The model stops seeing earlier turns: the Coze conversation is cleared (a new
   * section). Waits for a running chat of the session to finish first.
   */
  async clear (sessionId: string, owner: string | undefined, signal?: AbortSignal, clock?: UpstreamClock): Promise<SessionRecord> {
    await this.find(sessionId, owner)
    const deadline = this.queue.deadline()
    const releases: Release[] = []
    try {
      releases.push(await this.queue.session(sessionId, deadline, signal))
      const r = await this.find(sessionId, owner)
      const patch: SessionPatch = { message_count: 0, ...this.touch() }
      if (r.conversation_id) {
        releases.push(await this.queue.conversation(r.conversation_id, deadline, signal))
        try {
          await clearConversation(this.coze, r.conversation_id, { signal, clock, ...await this.routeOf(r.conversation_id, r.user_id) })
        } catch (err) {
          // The conversation is gone upstream: the next chat starts a new one.
          if (!(err instanceof GatewayError) || err.cozeCode !== 4200) throw err
          patch.conversation_id = null
        }
      }
      patch.cleared_at = Date.now()
      const updated = await this.io(this.store.update(sessionId, patch))
      if (!updated) throw errors.sessionNotFound(sessionId)
      return updated
    } finally {
      await releaseAll(releases)
    }
  }

  /** Deletes the record (the Coze conversation itself stays in Coze). */
  async remove (sessionId: string, owner: string | undefined): Promise<SessionRecord> {
    const r = await this.find(sessionId, owner)
    await this.io(this.store.delete(sessionId))
    return r
  }

  /**
   * 404 (as if it did not exist) when the conversation has an owner and the request does
   * not name it. `strict`: one with no recorded owner is a 404 too (keys on).
   */
  async checkConversation (conversationId: string, owner: string | undefined, strict = false): Promise<void> {
    const recorded = await this.io(this.store.getConversationOwner(conversationId))
    if (recorded === undefined ? strict : recorded !== owner) throw errors.conversationNotFound(conversationId)
  }

  async conversationOwner (conversationId: string): Promise<string | undefined> {
    return this.io(this.store.getConversationOwner(conversationId))
  }

  /**
   * Records `owner` (first one wins; 404 for anyone else) and refreshes the
   * record's expiry. `created`: Coze has just created the conversation, so it is the user's.
   */
  async claimConversation (conversationId: string, owner: string, created = false): Promise<void> {
    const recorded = await this.io(this.store.claimConversation(conversationId, owner, Date.now() + this.opts.ownerTtlMs, created))
    if (recorded !== owner) throw errors.conversationNotFound(conversationId)
  }

  /**
   * A chat's conversation that Coze has just created, with the credential it is on: the
   * user's at once for this process, written in the background; `settle()` before the
   * chat's answer ends.
   */
  claimCreated (conversationId: string, owner: string, credential: number): void {
    const expires = Date.now() + this.opts.ownerTtlMs
    this.store.claimCreated(conversationId, owner, expires)
    if (this.coze.credentials.size > 1) this.store.claimCreated(CREDENTIAL_KEY + conversationId, String(credential), expires)
  }

  /**
   * Before a chat's answer ends: what claimCreated() recorded is seen by every instance
   * that shares the store. Redis (several instances) has its claims confirmed; sqlite and
   * memory serve one process (README "Storage"), which sees them already: their writes
   * stay off the answer's path (sqlite: batched after it, ≈ 100 µs of CPU per chat less).
   */
  async settle (): Promise<void> {
    if (this.store.kind === 'redis') await this.io(this.store.flush())
  }

  /**
   * Creates a Coze conversation (on `credential`, or the pool's choice), recorded as
   * `owner`'s when there is one, and kept on the credential that created it.
   */
  async createConversation (
    botId: string,
    owner: string | undefined,
    signal?: AbortSignal,
    extra: { messages?: EnterMessage[] | undefined, meta_data?: Record<string, string> | undefined } = {},
    credential?: number,
    clock?: UpstreamClock
  ): Promise<Conversation & { credential: number }> {
    let used = credential ?? 0
    const conv = await createConversation(this.coze, { bot_id: botId, ...extra }, { signal, clock, user: owner, credential, onCredential: (i) => { used = i } })
    if (owner) await this.claimConversation(conv.id, owner, true)
    await this.bindCredential(conv.id, used)
    return { ...conv, credential: used }
  }

  /**
   * Where calls on a conversation go: its owner (session isolation) on the credential that
   * created it, never another (a conversation belongs to its credential in Coze).
   */
  async routeOf (conversationId: string, owner?: string): Promise<Route> {
    const [credential, user] = await Promise.all([this.credentialOf(conversationId), owner ?? this.conversationOwner(conversationId)])
    return { user, credential, pinned: true }
  }

  /**
   * The credential a conversation was created on. With one credential there is nothing to
   * remember; with a pool it is kept in the owner records under `credential:<conversation id>`
   * (so every store, Redis included, shares it, with the owners' expiry).
   */
  async credentialOf (conversationId: string): Promise<number | undefined> {
    if (this.coze.credentials.size < 2) return undefined
    const v = await this.io(this.store.getConversationOwner(CREDENTIAL_KEY + conversationId))
    const n = v === undefined ? NaN : Number(v)
    return Number.isInteger(n) && n >= 0 && n < this.coze.credentials.size ? n : undefined
  }

  async bindCredential (conversationId: string, credential: number): Promise<void> {
    if (this.coze.credentials.size < 2) return
    await this.io(this.store.claimConversation(CREDENTIAL_KEY + conversationId, String(credential), Date.now() + this.opts.ownerTtlMs, true))
  }

  /** Bookkeeping after a completed turn: the turn is counted and the owner (and credential) records refreshed. */
  async recordTurn (sessionId: string | undefined, conversationId: string, owner: string, credential?: number): Promise<void> {
    const now = Date.now()
    await Promise.all([
      sessionId ? this.store.countTurn(sessionId, now, now + this.opts.sessionTtlMs) : undefined,
      this.store.claimConversation(conversationId, owner, now + this.opts.ownerTtlMs),
      credential !== undefined && this.coze.credentials.size > 1
        ? this.store.claimConversation(CREDENTIAL_KEY + conversationId, String(credential), now + this.opts.ownerTtlMs, true)
        : undefined
    ])
  }

  /** The session was used (e.g. a turn that waits on tool outputs): its expiry moves. */
  async touchSession (sessionId: string): Promise<void> {
    await this.store.update(sessionId, this.touch())
  }

  private newRecord (sessionId: string, owner: string, botId: string, conversationId: string | null): SessionRecord {
    const now = Date.now()
    return {
      session_id: sessionId,
      user_id: owner,
      bot_id: botId,
      conversation_id: conversationId,
      created_at: now,
      last_activity: now,
      message_count: 0,
      status: 'active',
      cleared_at: null,
      expires_at: now + this.opts.sessionTtlMs
    }
  }

  private touch (): Pick<SessionRecord, 'last_activity' | 'expires_at'> {
    const now = Date.now()
    return { last_activity: now, expires_at: now + this.opts.sessionTtlMs }
  }

  /** Store failures become 503s that say so, never 500s. */
  private async io<T> (p: Promise<T>): Promise<T> {
    try {
      return await p
    } catch (err) {
      if (err instanceof GatewayError) throw err
      this.opts.log.error({ err }, 'session store call failed')
      throw errors.storeUnavailable(err)
    }
  }
}
