// Sessions on top of a store and a lock: ownership, the session ↔ Coze conversation
// binding, one chat at a time per session and per conversation, clear and delete.
import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { EnterMessage } from '@coze/api'
import type { CozeClient } from '../coze/client.js'
import type { ChatEvent, ChatTurn } from '../coze/chat.js'
import { toGatewayError } from '../coze/errors.js'
import { badRequest, ClientAbortError, GatewayError } from '../errors.js'
import { conversationNotFound, sessionNotFound, storeUnavailable } from './errors.js'
import type { ChatGuard, ChatLock, Page, Release, SessionPatch, SessionRecord, SessionStore } from './types.js'

export interface SessionServiceOptions {
  sessionTtlMs: number
  ownerTtlMs: number
  queueTimeoutMs: number
  log: FastifyBaseLogger
}

export interface SessionChatPlan {
  sessionId: string
  userId: string
  botId: string
  /** A conversation the client named: a new session is bound to it. */
  conversationId?: string | undefined
  /** The Coze messages of the turn; `fresh` = the conversation is new, so send the whole context. */
  messages: (fresh: boolean) => EnterMessage[]
}

export function newSessionId (): string {
  return `sess_${randomBytes(12).toString('hex')}`
}

const sessionLockKey = (id: string) => `session:${id}`
const conversationLockKey = (id: string) => `conversation:${id}`

export class SessionService {
  constructor (
    readonly store: SessionStore,
    readonly lock: ChatLock,
    private readonly coze: CozeClient,
    readonly opts: SessionServiceOptions
  ) {}

  get ttlSeconds (): number { return Math.round(this.opts.sessionTtlMs / 1000) }

  /** The raw record, whoever owns it (for routing decisions; never returned to a client as is). */
  async peek (sessionId: string): Promise<SessionRecord | undefined> {
    return this.io(this.store.get(sessionId))
  }

  /**
   * The session as `userId` may see it. Unknown, expired and someone else's sessions all
   * give the same 404. Without a user_id there is no identity to check against.
   */
  async find (sessionId: string, userId?: string): Promise<SessionRecord> {
    const r = await this.peek(sessionId)
    if (!r || (userId !== undefined && r.user_id !== userId)) throw sessionNotFound(sessionId)
    return r
  }

  async list (userId: string, pageNum: number, pageSize: number): Promise<Page<SessionRecord>> {
    return this.io(this.store.listByUser(userId, (pageNum - 1) * pageSize, pageSize))
  }

  /** A new session with a generated id; with `conversation`, its Coze conversation is created now. */
  async create (userId: string, botId: string, withConversation: boolean, signal?: AbortSignal): Promise<SessionRecord> {
    const conversationId = withConversation ? await this.createConversation(botId, userId, signal) : null
    const record = this.newRecord(newSessionId(), userId, botId, conversationId)
    if (!await this.io(this.store.create(record))) throw new GatewayError(500, 'INTERNAL_ERROR', 'Session id collision; retry.')
    return record
  }

  /**
   * The model stops seeing earlier turns: the Coze conversation is cleared (a new
   * section). Waits for a running chat of the session to finish first.
   */
  async clear (sessionId: string, userId: string | undefined, signal?: AbortSignal): Promise<SessionRecord> {
    await this.find(sessionId, userId)
    const deadline = Date.now() + this.opts.queueTimeoutMs
    const releases: Release[] = []
    try {
      releases.push(await this.lock.acquire(sessionLockKey(sessionId), { timeoutMs: this.opts.queueTimeoutMs, signal }))
      const r = await this.find(sessionId, userId)
      const patch: SessionPatch = { message_count: 0, ...this.touch() }
      if (r.conversation_id) {
        releases.push(await this.lock.acquire(conversationLockKey(r.conversation_id), { timeoutMs: Math.max(1, deadline - Date.now()), signal }))
        try {
          await this.coze.api.conversations.clear(r.conversation_id, this.coze.options({ signal }))
        } catch (err) {
          const e = toGatewayError(err)
          // The conversation is gone upstream: the next chat starts a new one.
          if (e.cozeCode !== 4200) throw e
          patch.conversation_id = null
        }
      }
      patch.cleared_at = Date.now()
      const updated = await this.io(this.store.update(sessionId, patch))
      if (!updated) throw sessionNotFound(sessionId)
      return updated
    } finally {
      for (const release of releases.reverse()) await release()
    }
  }

  /** Deletes the record (the Coze conversation itself stays in Coze). */
  async remove (sessionId: string, userId: string | undefined): Promise<SessionRecord> {
    const r = await this.find(sessionId, userId)
    await this.io(this.store.delete(sessionId))
    return r
  }

  /** 404 (as if it did not exist) when the conversation belongs to another user. */
  async checkConversation (conversationId: string, userId: string | undefined): Promise<void> {
    if (userId === undefined) return
    const owner = await this.io(this.store.getConversationOwner(conversationId))
    if (owner !== undefined && owner !== userId) throw conversationNotFound(conversationId)
  }

  async conversationOwner (conversationId: string): Promise<string | undefined> {
    return this.io(this.store.getConversationOwner(conversationId))
  }

  /**
   * Records `userId` as the owner (first user wins; 404 for anyone else) and refreshes the
   * record's expiry. `created`: Coze has just created the conversation, so it is the user's.
   */
  async claimConversation (conversationId: string, userId: string, created = false): Promise<void> {
    const owner = await this.io(this.store.claimConversation(conversationId, userId, Date.now() + this.opts.ownerTtlMs, created))
    if (owner !== userId) throw conversationNotFound(conversationId)
  }

  /** Creates a Coze conversation owned by `userId`. */
  async createConversation (botId: string, userId: string, signal?: AbortSignal, extra: { messages?: EnterMessage[], meta_data?: Record<string, string> } = {}): Promise<string> {
    const conv = await this.coze.api.conversations.create({ bot_id: botId, ...extra }, this.coze.options({ signal }))
      .catch((err: unknown) => { throw toGatewayError(err) })
    await this.claimConversation(conv.id, userId, true)
    return conv.id
  }

  /** A chat on a session: the session is created on first use, and its conversation with it. */
  sessionChat (plan: SessionChatPlan): ChatGuard {
    return (signal, run) => this.sessionEvents(plan, signal, run)
  }

  /** A chat outside sessions: serialized per conversation; a conversation Coze creates is recorded as the user's. */
  conversationChat (conversationId: string | undefined, userId: string): ChatGuard {
    return (signal, run) => this.conversationEvents(conversationId, userId, signal, run)
  }

  private async * sessionEvents (plan: SessionChatPlan, signal: AbortSignal, run: (p: Partial<ChatTurn>) => AsyncIterable<ChatEvent>): AsyncGenerator<ChatEvent> {
    const deadline = Date.now() + this.opts.queueTimeoutMs
    const releases: Release[] = []
    try {
      releases.push(await this.lock.acquire(sessionLockKey(plan.sessionId), { timeoutMs: this.opts.queueTimeoutMs, signal }))
      let r = await this.peek(plan.sessionId)
      if (r && r.user_id !== plan.userId) throw sessionNotFound(plan.sessionId)
      if (r) checkBinding(r, plan)
      if (!r) {
        r = this.newRecord(plan.sessionId, plan.userId, plan.botId, null)
        if (!await this.io(this.store.create(r))) throw sessionNotFound(plan.sessionId)
      }
      let fresh = false
      let conversationId = r.conversation_id
      if (!conversationId) {
        if (plan.conversationId) {
          await this.claimConversation(plan.conversationId, plan.userId)
          conversationId = plan.conversationId
        } else {
          conversationId = await this.createConversation(plan.botId, plan.userId, signal)
          fresh = true
        }
        await this.io(this.store.update(plan.sessionId, { conversation_id: conversationId, ...this.touch() }))
      }
      releases.push(await this.lock.acquire(conversationLockKey(conversationId), { timeoutMs: Math.max(1, deadline - Date.now()), signal }))

      let patch: Partial<ChatTurn> = { conversation_id: conversationId, additional_messages: plan.messages(fresh) }
      const recover = fresh
        ? undefined
        : async (): Promise<Partial<ChatTurn> | undefined> => {
          // The session's conversation no longer exists in Coze (e.g. the emulator restarted):
          // start a new one rather than leave the session unusable.
          if (!await this.conversationGone(conversationId!, signal)) return undefined
          this.opts.log.warn({ session_id: plan.sessionId, conversation_id: conversationId }, 'session conversation no longer exists in Coze; starting a new one')
          const created = await this.createConversation(plan.botId, plan.userId, signal)
          await this.io(this.store.update(plan.sessionId, { conversation_id: created, message_count: 0, ...this.touch() }))
          releases.push(await this.lock.acquire(conversationLockKey(created), { timeoutMs: Math.max(1, deadline - Date.now()), signal }))
          patch = { conversation_id: created, additional_messages: plan.messages(true) }
          return patch
        }
      for await (const ev of this.retrying(run, patch, signal, deadline, recover)) {
        if (ev.type === 'chat_completed') {
          await this.afterTurn(() => Promise.all([
            this.store.countTurn(plan.sessionId, Date.now(), Date.now() + this.opts.sessionTtlMs),
            this.store.claimConversation(ev.conversation_id, plan.userId, Date.now() + this.opts.ownerTtlMs)
          ]))
        } else if (ev.type === 'tool_calls') {
          await this.afterTurn(() => this.store.update(plan.sessionId, this.touch()))
        }
        yield ev
      }
    } finally {
      for (const release of releases.reverse()) await release()
    }
  }

  private async * conversationEvents (conversationId: string | undefined, userId: string, signal: AbortSignal, run: (p: Partial<ChatTurn>) => AsyncIterable<ChatEvent>): AsyncGenerator<ChatEvent> {
    if (!conversationId) {
      for await (const ev of run({})) {
        if (ev.type === 'chat_created') await this.claimConversation(ev.conversation_id, userId, true)
        yield ev
      }
      return
    }
    const deadline = Date.now() + this.opts.queueTimeoutMs
    const release = await this.lock.acquire(conversationLockKey(conversationId), { timeoutMs: this.opts.queueTimeoutMs, signal })
    try {
      await this.checkConversation(conversationId, userId)
      for await (const ev of this.retrying(run, {}, signal, deadline)) {
        if (ev.type === 'chat_completed') await this.afterTurn(() => this.store.claimConversation(conversationId, userId, Date.now() + this.opts.ownerTtlMs))
        yield ev
      }
    } finally {
      await release()
    }
  }

  /**
   * Runs the turn. A 4016 before any event means a chat on the conversation is still
   * settling in Coze (e.g. one cancelled a moment ago): wait briefly and retry within
   * the queue deadline, so queued chats never surface 4016.
   */
  private async * retrying (
    run: (p: Partial<ChatTurn>) => AsyncIterable<ChatEvent>,
    patch: Partial<ChatTurn>,
    signal: AbortSignal,
    deadline: number,
    recover?: () => Promise<Partial<ChatTurn> | undefined>
  ): AsyncGenerator<ChatEvent> {
    let current = patch
    let recovered = false
    for (let attempt = 0; ; attempt++) {
      let started = false
      try {
        for await (const ev of run(current)) {
          started = true
          yield ev
        }
        return
      } catch (err) {
        if (started || !(err instanceof GatewayError)) throw err
        const delay = Math.min(500, 50 * 2 ** attempt)
        if (err.cozeCode === 4016 && Date.now() + delay < deadline) {
          await sleep(delay, signal)
          if (signal.aborted) throw new ClientAbortError()
          continue
        }
        if (err.cozeCode === 4200 && recover && !recovered) {
          recovered = true
          const next = await recover()
          if (next) { current = next; continue }
        }
        throw err
      }
    }
  }

  /** Bookkeeping after Coze answered: a store failure here is logged, never turned into a failed answer. */
  private async afterTurn (fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn()
    } catch (err) {
      this.opts.log.warn({ err }, 'session store update after a chat failed')
    }
  }

  private async conversationGone (conversationId: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.coze.api.conversations.retrieve(conversationId, this.coze.options({ signal }))
      return false
    } catch (err) {
      return toGatewayError(err).cozeCode === 4200
    }
  }

  private newRecord (sessionId: string, userId: string, botId: string, conversationId: string | null): SessionRecord {
    const now = Date.now()
    return {
      session_id: sessionId,
      user_id: userId,
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
      throw storeUnavailable(err)
    }
  }
}

function checkBinding (r: SessionRecord, plan: SessionChatPlan): void {
  if (plan.botId !== r.bot_id) {
    throw badRequest(`Session ${r.session_id} is bound to bot ${r.bot_id}: omit bot_id, or start a new session for another bot.`)
  }
  if (plan.conversationId && r.conversation_id && plan.conversationId !== r.conversation_id) {
    throw badRequest(`Session ${r.session_id} is bound to conversation ${r.conversation_id}: omit conversation_id, or send the session's own.`)
  }
}

function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(t); signal?.removeEventListener('abort', done); resolve() }
    const t = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
