// The one chat pipeline behind every chat-like surface (/api/v1/chat, the simple chat API,
// /v1/chat/completions, tool outputs). It owns what they share: default resolution,
// session and conversation binding with the ownership checks, the per-conversation
// queue with the 4016/4200 recovery, the upstream stream, and the bookkeeping after Coze
// answered (the session store, and through ChatWatch the chat and token metrics). Surfaces
// only map their request in and the ChatEvents out to their wire.
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from '../config.js'
import type { CozeClient } from '../coze/client.js'
import { streamChat, streamChatflow, streamToolOutputs, cancelChat, chatStatus, type ChatState, type ChatTurn, type ChatEvent as UpstreamEvent } from '../coze/chat.js'
import { retrieveConversation } from '../coze/conversations.js'
import { toCozeMessages } from '../coze/messages.js'
import type { StreamLimits } from '../coze/stream-guard.js'
import type { Lease } from '../coze/credentials.js'
import { ClientAbortError, errors, GatewayError } from '../errors.js'
import type { SessionService } from '../sessions/service.js'
import { releaseAll, type ChatQueue } from '../sessions/queue.js'
import type { Release, SessionRecord } from '../sessions/types.js'
import type { UpstreamHealth } from '../upstream-health.js'
import type { Metrics } from '../metrics/metrics.js'
import type { AccessPolicy } from '../access/policy.js'
import type { CancelRequest, ChatContext, ChatEvent, ChatflowTarget, ChatRequest, Surface, ToolOutputsRequest, Turn } from './types.js'
import { ChatWatch } from './watch.js'

export interface ChatServiceDeps {
  config: Pick<Config, 'COZE_BOT_ID' | 'DEFAULT_USER_ID' | 'COZE_CONNECT_TIMEOUT_MS' | 'COZE_IDLE_TIMEOUT_MS' | 'modelMap' | 'chatflowMap'>
  coze: CozeClient
  sessions: SessionService
  queue: ChatQueue
  upstream: UpstreamHealth
  /** The key's bots, budget and ownership (src/access/) */
  access: AccessPolicy
  log: FastifyBaseLogger
  /** chats and tokens are counted here (coze_gateway_chats_total, _tokens_total) */
  metrics?: Metrics | undefined
}

interface SurfaceDefaults {
  /** The user of a request that names none, after DEFAULT_USER_ID. */
  fallbackUser?: string
}

const SURFACES: Record<Surface, SurfaceDefaults> = {
  api: {},
  workflow: {},
  chatbot: { fallbackUser: 'anonymous' },
  openai: { fallbackUser: 'openai-user' }
}

/** What a retry or a recovery changes in a turn: its conversation, its messages, its credential. */
type Patch = Partial<Pick<ChatTurn, 'conversation_id' | 'additional_messages'>> & { lease?: Lease | undefined }
type Run = (patch: Patch) => AsyncIterable<UpstreamEvent>

/** What a turn talks to. `key` is what a session is bound to: the bot id, or `chatflow:<workflow_id>`. */
interface Target { key: string, bot_id?: string | undefined, chatflow?: ChatflowTarget | undefined }

const CHATFLOW_KEY = 'chatflow:'

export class ChatService {
  private readonly limits: StreamLimits

  constructor (private readonly d: ChatServiceDeps) {
    this.limits = { connectTimeoutMs: d.config.COZE_CONNECT_TIMEOUT_MS, idleTimeoutMs: d.config.COZE_IDLE_TIMEOUT_MS }
  }

  /**
   * One chat turn. Nothing runs until the first next(): validation and ownership errors,
   * queueing and Coze's own first answer all surface there, before any byte is sent.
   */
  chat (req: ChatRequest, ctx: ChatContext): AsyncIterableIterator<ChatEvent> {
    const w = new ChatWatch(this.d.metrics, ctx)
    return w.watch(req.session_id ? this.sessionChat(req, req.session_id, ctx, w) : this.conversationChat(req, ctx, w))
  }

  /**
   * The allow-lists a chat is held to (403), for a surface that has work to do before the
   * chat itself (the OpenAI route uploads images first; its model lookup).
   */
  authorize (req: ChatRequest, ctx: Pick<ChatContext, 'principal'>): void {
    this.checkTarget(ctx, this.targetOf(req), req.surface)
  }

  /** Continues a chat that waits on tool outputs; the conversation must be the user's. */
  toolOutputs (req: ToolOutputsRequest, ctx: ChatContext): AsyncIterableIterator<ChatEvent> {
    const w = new ChatWatch(this.d.metrics, ctx)
    return w.watch(this.continueChat(req, ctx, w))
  }

  private async * continueChat (req: ToolOutputsRequest, ctx: ChatContext, w: ChatWatch): AsyncGenerator<ChatEvent> {
    const userId = this.userOf(req.surface, req.user_id)
    const owner = this.d.access.ownerOf(ctx.principal, userId)
    const strict = this.d.access.strictOwnership(ctx.principal)
    const sessions = this.d.sessions
    await sessions.checkConversation(req.conversation_id, owner, strict)
    await this.d.access.checkBudget(ctx.principal)
    const release = await this.d.queue.conversation(req.conversation_id, this.d.queue.deadline(), ctx.signal)
    try {
      await sessions.checkConversation(req.conversation_id, owner, strict)
      const turn = { conversation_id: req.conversation_id, chat_id: req.chat_id, tool_outputs: req.tool_outputs }
      const info: Turn = { user_id: userId }
      const route = await sessions.routeOf(req.conversation_id, owner)
      for await (const ev of streamToolOutputs(this.d.coze, turn, { ...this.streamOptions(ctx), ...route })) {
        if (isTerminal(ev)) await this.spend(ev, ctx)
        if (ev.type === 'chat_completed' && owner) await this.afterTurn(() => sessions.recordTurn(undefined, ev.conversation_id, owner))
        yield w.emit(ev, info)
      }
    } finally {
      await release()
    }
  }

  /** Cancels a chat in progress; one that has finished is a 409 that says why. */
  async cancel (req: CancelRequest, ctx: Partial<ChatContext> = {}): Promise<ChatState> {
    const owner = this.d.access.ownerOf(ctx.principal, this.userOf('api', req.user_id))
    await this.d.sessions.checkConversation(req.conversation_id, owner, this.d.access.strictOwnership(ctx.principal))
    const route = await this.d.sessions.routeOf(req.conversation_id, owner)
    try {
      return await cancelChat(this.d.coze, req, { signal: ctx.signal, onLogid: ctx.onLogid, clock: ctx.observation, ...route })
    } catch (err) {
      if (err instanceof GatewayError && err.cozeCode === 4104) throw errors.notCancelable(req.chat_id, await chatStatus(this.d.coze, req, { ...route, clock: ctx.observation }), err)
      throw err
    }
  }

  private userOf (surface: Surface, given: string | undefined): string | undefined {
    return given || this.d.config.DEFAULT_USER_ID || SURFACES[surface].fallbackUser
  }

  /**
   * The real usage of a finished turn counts against the key's daily budget. Called for the
   * terminal event only (isTerminal): an await per delta costs promises and ticks per event.
   */
  private spend (ev: Terminal, ctx: ChatContext): Promise<void> {
    return this.afterTurn(() => this.d.access.spend(ctx.principal, ev.usage.token_count))
  }

  /**
   * The bot or chatflow of a request: the one it names (a COZE_MODEL_MAP alias may stand for
   * either), else the session's own, else COZE_BOT_ID (which may be an alias too).
   */
  private targetOf (req: ChatRequest, bound?: string): Target {
    if (req.chatflow) return chatflowTarget(req.chatflow, req.bot_id)
    const name = req.bot_id || bound || this.d.config.COZE_BOT_ID
    if (!name) throw errors.botIdRequired()
    const { modelMap, chatflowMap } = this.d.config
    if (Object.hasOwn(chatflowMap, name)) return chatflowTarget(chatflowMap[name]!)
    if (name.startsWith(CHATFLOW_KEY)) {
      // A session bound to a chatflow, continued without naming it: the alias that names it, if any.
      const workflowId = name.slice(CHATFLOW_KEY.length)
      return chatflowTarget(Object.values(chatflowMap).find((c) => c.workflow_id === workflowId) ?? { workflow_id: workflowId })
    }
    const botId = Object.hasOwn(modelMap, name) ? modelMap[name]! : name
    return { key: botId, bot_id: botId }
  }

  /** The key's and the gateway's allow-lists, before Coze is called: a bot, or a chatflow (ALLOWED_WORKFLOW_IDS). */
  private checkTarget (ctx: Pick<ChatContext, 'principal'>, t: Target, surface: Surface): void {
    if (t.chatflow) this.d.access.checkWorkflow(ctx.principal, t.chatflow.workflow_id)
    else this.d.access.checkBot(ctx.principal, t.key, surface)
  }

  private streamOptions (ctx: ChatContext) {
    return { ...this.limits, signal: ctx.signal, onLogid: ctx.onLogid, clock: ctx.observation }
  }

  private runner (t: Target, req: ChatRequest, userId: string, messages: ChatTurn['additional_messages'], ctx: ChatContext): Run {
    const opts = this.streamOptions(ctx)
    const cf = t.chatflow
    if (cf) {
      const base = { workflow_id: cf.workflow_id, additional_messages: messages, parameters: cf.parameters, app_id: cf.app_id, bot_id: t.bot_id, conversation_id: req.conversation_id, ext: cf.ext }
      return ({ lease, ...patch }) => streamChatflow(this.d.coze, { ...base, ...patch }, { ...opts, lease })
    }
    const base = baseTurn(req, t.key, userId, messages)
    return ({ lease, ...patch }) => streamChat(this.d.coze, { ...base, ...patch }, { ...opts, lease })
  }

  /**
   * The credential of a turn (`current`: the one it ran on last), and its retry when Coze
   * refused it for that credential (rate limit, auth) before any event: a fresh OAuth token,
   * or, unless `pinned`, another credential.
   */
  private credentialFor (userId: string, credential: number | undefined, pinned: boolean) {
    const pool = this.d.coze.credentials
    let lease = pool.lease({ user: userId, credential, pinned })
    const cred = {
      get current (): Lease { return lease },
      next: (): Lease | undefined => {
        const next = pool.retry(lease)
        if (next) lease = next
        return next
      },
      retry: async (): Promise<Patch | undefined> => {
        const next = cred.next()
        return next && { lease: next }
      }
    }
    return cred
  }

  /** A chat outside sessions: serialized per conversation; a conversation Coze creates is recorded as the user's. */
  private async * conversationChat (req: ChatRequest, ctx: ChatContext, w: ChatWatch): AsyncGenerator<ChatEvent> {
    const sessions = this.d.sessions
    const access = this.d.access
    const userId = this.userOf(req.surface, req.user_id)
    const owner = access.ownerOf(ctx.principal, userId)
    const strict = access.strictOwnership(ctx.principal)
    const conversationId = req.conversation_id
    // Fast 404 for someone else's conversation, before any queueing.
    if (conversationId) await sessions.checkConversation(conversationId, owner, strict)
    const target = this.targetOf(req)
    this.checkTarget(ctx, target, req.surface)
    if (!userId || !owner) throw errors.userIdRequired()
    await access.checkBudget(ctx.principal)
    const run = this.runner(target, req, userId, toCozeMessages(req.messages, Boolean(conversationId)), ctx)
    const info = turnOf(target, userId)

    if (!conversationId) {
      // Coze creates the conversation: on whichever credential the turn ends up on, which it then stays on.
      const cred = this.credentialFor(owner, undefined, false)
      // (deadline 0: no conversation, so no 4016 to wait out)
      for await (const ev of this.retrying(run, { lease: cred.current }, ctx.signal, 0, undefined, cred.retry)) {
        if (ev.type === 'chat_created') sessions.claimCreated(ev.conversation_id, owner, cred.current.credential.index)
        else if (isTerminal(ev)) {
          await sessions.settle()
          await this.spend(ev, ctx)
        }
        yield w.emit(ev, info)
      }
      return
    }
    const deadline = this.d.queue.deadline()
    const release = await this.d.queue.conversation(conversationId, deadline, ctx.signal)
    try {
      await sessions.checkConversation(conversationId, owner, strict)
      const cred = this.credentialFor(owner, await sessions.credentialOf(conversationId), true)
      for await (const ev of this.retrying(run, { lease: cred.current }, ctx.signal, deadline, undefined, cred.retry)) {
        if (isTerminal(ev)) await this.spend(ev, ctx)
        if (ev.type === 'chat_completed') await this.afterTurn(() => sessions.recordTurn(undefined, conversationId, owner, cred.current.credential.index))
        yield w.emit(ev, info)
      }
    } finally {
      await release()
    }
  }

  /** A chat on a session: the session is created on first use, and its conversation with it. */
  private async * sessionChat (req: ChatRequest, sessionId: string, ctx: ChatContext, w: ChatWatch): AsyncGenerator<ChatEvent> {
    const sessions = this.d.sessions
    const access = this.d.access
    const existing = await sessions.peek(sessionId)
    const userId = this.userOf(req.surface, req.user_id)
    const owner = access.ownerOf(ctx.principal, userId)
    if (!userId || !owner) throw errors.userIdRequired()
    if (existing && existing.user_id !== owner) throw errors.sessionNotFound(sessionId)
    const target = this.targetOf(req, existing?.bot_id)
    this.checkTarget(ctx, target, req.surface)
    if (existing) checkBinding(existing, target.key, req.conversation_id)
    else if (req.conversation_id) await sessions.checkConversation(req.conversation_id, owner, access.strictOwnership(ctx.principal))
    await access.checkBudget(ctx.principal)
    // `fresh`: the conversation is new, so the whole context goes up.
    const messages = (fresh: boolean) => toCozeMessages(req.messages, !fresh)
    const run = this.runner(target, req, userId, messages(false), ctx)
    const info: Turn = { ...turnOf(target, userId), session_id: sessionId }
    const { signal } = ctx

    const deadline = this.d.queue.deadline()
    const releases: Release[] = []
    try {
      releases.push(await this.d.queue.session(sessionId, deadline, signal))
      let r = await sessions.peek(sessionId)
      if (r && r.user_id !== owner) throw errors.sessionNotFound(sessionId)
      if (r) checkBinding(r, target.key, req.conversation_id)
      r ??= await sessions.open(sessionId, owner, target.key)
      if (!r) throw errors.sessionNotFound(sessionId)

      let fresh = false
      let conversationId = r.conversation_id
      if (!conversationId && !req.conversation_id && target.chatflow) {
        // A chatflow creates its conversation itself: the session is bound to it as Coze names it.
        const cred = this.credentialFor(owner, undefined, false)
        for await (const ev of this.retrying(run, { additional_messages: messages(true), lease: cred.current }, signal, 0, undefined, cred.retry)) {
          if (ev.type === 'chat_created') {
            sessions.claimCreated(ev.conversation_id, owner, cred.current.credential.index)
            await sessions.bind(sessionId, ev.conversation_id)
          } else if (ev.type === 'chat_completed') {
            await sessions.settle()
            await this.afterTurn(() => sessions.recordTurn(sessionId, ev.conversation_id, owner, cred.current.credential.index))
          } else if (ev.type === 'tool_calls') {
            await sessions.settle()
          }
          if (isTerminal(ev)) await this.spend(ev, ctx)
          yield w.emit(ev, info)
        }
        return
      }
      let credential: number | undefined
      if (!conversationId) {
        if (req.conversation_id) {
          await sessions.claimConversation(req.conversation_id, owner)
          conversationId = req.conversation_id
          credential = await sessions.credentialOf(conversationId)
        } else {
          const created = await sessions.createConversation(target.key, owner, signal, {}, undefined, ctx.observation)
          conversationId = created.id
          credential = created.credential
          fresh = true
        }
        await sessions.bind(sessionId, conversationId)
      } else {
        credential = await sessions.credentialOf(conversationId)
      }
      releases.push(await this.d.queue.conversation(conversationId, deadline, signal))

      // A new, still empty conversation may move: the turn is then retried on a conversation
      // made on another credential. An older one stays where it is.
      const cred = this.credentialFor(owner, credential, !fresh)
      let current = conversationId
      // A chatflow's 4200 is about the chatflow: there is no conversation to replace.
      const recover = fresh || target.chatflow
        ? undefined
        : async (): Promise<Patch | undefined> => {
          // The session's conversation no longer exists in Coze (e.g. the emulator restarted):
          // start a new one rather than leave the session unusable.
          if (!await this.conversationGone(current, cred.current, ctx)) return undefined
          this.d.log.warn({ session_id: sessionId, conversation_id: current }, 'session conversation no longer exists in Coze; starting a new one')
          const created = await sessions.createConversation(target.key, owner, signal, {}, cred.current.credential.index, ctx.observation)
          await sessions.bind(sessionId, created.id, true)
          releases.push(await this.d.queue.conversation(created.id, deadline, signal))
          current = created.id
          return { conversation_id: created.id, additional_messages: messages(true), lease: cred.current }
        }
      const failover = async (): Promise<Patch | undefined> => {
        const from = cred.current.credential.index
        const lease = cred.next()
        if (!lease) return undefined
        if (lease.credential.index === from) return { lease }
        const created = await sessions.createConversation(target.key, owner, signal, {}, lease.credential.index, ctx.observation)
        await sessions.bind(sessionId, created.id, true)
        releases.push(await this.d.queue.conversation(created.id, deadline, signal))
        current = created.id
        return { conversation_id: created.id, additional_messages: messages(true), lease }
      }
      const patch = { conversation_id: conversationId, additional_messages: messages(fresh), lease: cred.current }
      for await (const ev of this.retrying(run, patch, signal, deadline, recover, failover)) {
        if (isTerminal(ev)) await this.spend(ev, ctx)
        if (ev.type === 'chat_completed') await this.afterTurn(() => sessions.recordTurn(sessionId, ev.conversation_id, owner, cred.current.credential.index))
        else if (ev.type === 'tool_calls') await this.afterTurn(() => sessions.touchSession(sessionId))
        yield w.emit(ev, info)
      }
    } finally {
      await releaseAll(releases)
    }
  }

  /**
   * Runs the turn. A 4016 before any event means a chat on the conversation is still
   * settling in Coze (e.g. one cancelled a moment ago): wait briefly and retry within
   * the queue deadline, so queued chats never surface 4016. A 4200 on a conversation
   * that `recover` can replace is retried once on the new one. A turn refused for its
   * credential is retried as `failover` says (a fresh token, another credential). Never
   * once an event has gone out: a chat is not idempotent. After its first event the turn's
   * own iterator is read directly (no generator in between).
   */
  private retrying (
    run: Run,
    patch: Patch,
    signal: AbortSignal,
    deadline: number,
    recover?: () => Promise<Patch | undefined>,
    failover?: () => Promise<Patch | undefined>
  ): AsyncIterableIterator<UpstreamEvent> {
    let it: AsyncIterator<UpstreamEvent> | undefined
    const first = async (): Promise<IteratorResult<UpstreamEvent>> => {
      let current = patch
      let recovered = false
      for (let attempt = 0; ; attempt++) {
        const attemptIt = run(current)[Symbol.asyncIterator]()
        try {
          const r = await attemptIt.next()
          it = attemptIt
          return r
        } catch (err) {
          if (!(err instanceof GatewayError)) throw err
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
          const next = current.lease?.verdict ? await failover?.() : undefined
          if (next) { current = { ...current, ...next }; continue }
          throw err
        }
      }
    }
    const done: IteratorResult<UpstreamEvent> = { value: undefined, done: true }
    return {
      [Symbol.asyncIterator] () { return this },
      next: () => it ? it.next() : first(),
      return: async () => (await it?.return?.()) ?? done
    }
  }

  /** Bookkeeping after Coze answered: a store failure here is logged, never turned into a failed answer. */
  private async afterTurn (fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn()
    } catch (err) {
      this.d.log.warn({ err }, 'session store update after a chat failed')
    }
  }

  private async conversationGone (conversationId: string, lease: Lease, ctx: ChatContext): Promise<boolean> {
    try {
      await retrieveConversation(this.d.coze, conversationId, { signal: ctx.signal, clock: ctx.observation, credential: lease.credential.index, user: lease.route.user, pinned: true })
      return false
    } catch (err) {
      return err instanceof GatewayError && err.cozeCode === 4200
    }
  }
}

type Terminal = Extract<UpstreamEvent, { type: 'chat_completed' | 'tool_calls' }>
const isTerminal = (ev: UpstreamEvent): ev is Terminal => ev.type === 'chat_completed' || ev.type === 'tool_calls'

function baseTurn (req: ChatRequest, botId: string, userId: string, messages: ChatTurn['additional_messages']): ChatTurn {
  return {
    bot_id: botId,
    user_id: userId,
    additional_messages: messages,
    conversation_id: req.conversation_id,
    custom_variables: req.custom_variables,
    meta_data: req.meta_data,
    auto_save_history: req.auto_save_history
  }
}

function chatflowTarget (c: ChatflowTarget & { bot_id?: string | undefined }, botId = c.bot_id): Target {
  if (c.app_id && botId) throw errors.notBoth('app_id', 'bot_id', 'a chatflow runs inside an app (app_id) or in the library of a bot (bot_id), so send only one of them')
  return { key: CHATFLOW_KEY + c.workflow_id, bot_id: botId, chatflow: c }
}

function turnOf (t: Target, userId: string): Turn {
  return t.chatflow ? { workflow_id: t.chatflow.workflow_id, bot_id: t.bot_id, user_id: userId } : { bot_id: t.key, user_id: userId }
}

function checkBinding (r: SessionRecord, key: string, conversationId: string | undefined): void {
  if (key !== r.bot_id) {
    throw r.bot_id.startsWith(CHATFLOW_KEY)
      ? errors.sessionBoundToChatflow(r.session_id, r.bot_id.slice(CHATFLOW_KEY.length))
      : errors.sessionBoundToBot(r.session_id, r.bot_id)
  }
  if (conversationId && r.conversation_id && conversationId !== r.conversation_id) {
    throw errors.sessionBoundToConversation(r.session_id, r.conversation_id)
  }
}

function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(t); signal?.removeEventListener('abort', done); resolve() }
    const t = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
