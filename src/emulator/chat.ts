import type { Ctx, RouteDef, Runtime } from './runtime.js'
import { Stopper } from './runtime.js'
import type { ChatRecord, Conversation, Message, Usage } from './state.js'
import { chatView } from './state.js'
import type { EventSink } from './sse.js'
import { CHAT_DONE_FRAME, NULL_SINK, SseSink, chatFrame } from './sse.js'
import type { PlannedMessage, TurnPlan, VisibleMessage } from './bots.js'
import { planToolAnswer, planTurn, resolveBot } from './bots.js'
import type { StreamFault } from './faults.js'
import { DEFAULT_AFTER_DELTAS } from './faults.js'
import { CozeFault, badRequest, cozeMessage, notFound } from './errors.js'
import { newId, nowSec } from './ids.js'
import { sendOk } from './respond.js'
import { assertBotAllowed, sees } from './auth.js'
import { pacedDelay, splitCjk } from './pacing.js'

const ZERO_USAGE: Usage = { token_count: 0, output_count: 0, input_count: 0 }

export function str (v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : ''
}

function stringMap (v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {}
  return v as Record<string, string>
}

/** Validates EnterMessages (chat additional_messages, conversation create messages). */
export function parseEnterMessages (v: unknown, field: string): VisibleMessage[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw badRequest(`${field} must be an array`)
  if (v.length > 100) throw badRequest(`${field} accepts at most 100 messages`)
  return v.map((raw, i): VisibleMessage => {
    if (typeof raw !== 'object' || raw === null) throw badRequest(`${field}[${i}] must be an object`)
    const m = raw as Record<string, unknown>
    if (m.role !== 'user' && m.role !== 'assistant') throw badRequest(`${field}[${i}].role must be user or assistant`)
    const contentType = m.content_type === undefined ? 'text' : m.content_type
    if (contentType !== 'text' && contentType !== 'object_string' && contentType !== 'card') throw badRequest(`${field}[${i}].content_type must be text or object_string`)
    let content = m.content
    if (typeof content === 'object' && content !== null) content = JSON.stringify(content)
    if (typeof content !== 'string') throw badRequest(`${field}[${i}].content must be a string`)
    if (contentType === 'object_string') validateObjectString(content, `${field}[${i}]`)
    const type = m.type === undefined ? (m.role === 'user' ? 'question' : 'answer') : str(m.type)
    return { role: m.role, type, content, content_type: contentType }
  })
}

function validateObjectString (content: string, where: string): void {
  let items: unknown
  try { items = JSON.parse(content) } catch { throw badRequest(`${where}.content is not a JSON array (object_string)`) }
  if (!Array.isArray(items) || items.length === 0) throw badRequest(`${where}.content must be a non-empty JSON array (object_string)`)
  let texts = 0
  let files = 0
  for (const it of items as Array<Record<string, unknown>>) {
    if (typeof it !== 'object' || it === null) throw badRequest(`${where}.content items must be objects`)
    if (it.type === 'text') {
      texts++
      if (typeof it.text !== 'string') throw badRequest(`${where}: a text item needs text`)
    } else if (it.type === 'file' || it.type === 'image' || it.type === 'audio') {
      files++
      if (typeof it.file_id !== 'string' && typeof it.file_url !== 'string') throw badRequest(`${where}: a ${String(it.type)} item needs file_id or file_url`)
    } else {
      throw badRequest(`${where}: unknown item type ${String(it.type)}`)
    }
  }
  if (texts > 1) throw badRequest(`${where}: at most one text item`)
  if (texts === 1 && files === 0) throw badRequest(`${where}: pure text must use content_type text`)
}

/** The messages of the current section a bot can see. */
export function visibleHistory (conv: Conversation): VisibleMessage[] {
  const out: VisibleMessage[] = []
  for (const m of conv.messages) {
    if (m.section_id === conv.last_section_id && (m.type === 'question' || m.type === 'answer')) out.push(m)
  }
  return out
}

export function storedMessage (conv: Conversation, m: VisibleMessage, chatId: string, botId: string, metaData: Record<string, string> = {}): Message {
  const now = nowSec()
  return {
    id: newId(),
    conversation_id: conv.id,
    bot_id: botId,
    chat_id: chatId,
    section_id: conv.last_section_id,
    role: m.role,
    type: m.type,
    content: m.content,
    content_type: m.content_type,
    meta_data: metaData,
    created_at: now,
    updated_at: now
  }
}

export function isRunning (chat: ChatRecord | undefined): boolean {
  return chat !== undefined && (chat.status === 'created' || chat.status === 'in_progress')
}

function release (rt: Runtime, chat: ChatRecord): void {
  const conv = rt.store.conversations.get(chat.conversation_id)
  if (conv && conv.runningChatId === chat.id) conv.runningChatId = undefined
}

function fail (rt: Runtime, chat: ChatRecord, code: number, msg: string): void {
  chat.status = 'failed'
  chat.failed_at = nowSec()
  chat.last_error = { code, msg }
  release(rt, chat)
}

interface Turn {
  rt: Runtime
  chat: ChatRecord
  plan: TurnPlan
  sink: EventSink
  stopper: Stopper
  fault: StreamFault | undefined
  /** per-delta delay, read before each delta (setSlowDeltaMs applies at once) */
  pace: () => number
  /** the last frame: `done` with "[DONE]" (chat) or {debug_url} (chatflow) */
  doneFrame: string
  /** runs when the chat completes (not on failure, cancel or cut) */
  onComplete: (() => void) | undefined
}

/**
 * The delta frame of a message, pre-serialised around its content: one JSON.stringify of
 * the piece per delta instead of the whole object (the hot path of every benchmark).
 */
function deltaFramer (chat: ChatRecord, pm: PlannedMessage): (content: string, reasoning: string | undefined) => string {
  const bot = chat.bot_id !== '' ? `"bot_id":${JSON.stringify(chat.bot_id)},` : ''
  const head = `event:conversation.message.delta\ndata:{"id":${JSON.stringify(pm.id)},"conversation_id":${JSON.stringify(chat.conversation_id)},${bot}"role":"assistant","type":${JSON.stringify(pm.type)},"content":`
  const tail = `,"content_type":"text","chat_id":${JSON.stringify(chat.id)},"section_id":${JSON.stringify(chat.section_id)}`
  return (content, reasoning) => head + JSON.stringify(content) + tail +
    (reasoning === undefined ? '}\n\n' : `,"reasoning_content":${JSON.stringify(reasoning)}}\n\n`)
}

function messageJson (chat: ChatRecord, pm: PlannedMessage, content: string, reasoning: string | undefined): Record<string, unknown> {
  const m: Record<string, unknown> = {
    id: pm.id,
    conversation_id: chat.conversation_id,
    ...(chat.bot_id !== '' ? { bot_id: chat.bot_id } : {}),
    role: 'assistant',
    type: pm.type,
    content,
    content_type: 'text',
    chat_id: chat.id,
    section_id: chat.section_id
  }
  if (reasoning !== undefined) m.reasoning_content = reasoning
  return m
}

/**
 * Plays one turn of a chat: created, in_progress, messages (deltas then completed), the
 * terminal chat event, done. The same code runs non-stream chats in the background (null sink).
 */
async function playTurn (t: Turn): Promise<void> {
  const { rt, chat, plan, sink, stopper, fault, doneFrame } = t
  const emit = async (event: string, data: unknown): Promise<void> => {
    const p = sink.write(chatFrame(event, data))
    if (p) await p
  }
  const fireAt = fault ? (fault.afterDeltas ?? DEFAULT_AFTER_DELTAS) : -1
  let sent = 0
  let fired = false

  /** plays the fault; false when the turn ends here */
  const fire = async (currentMessageId: string): Promise<boolean> => {
    fired = true
    if (!fault) return true
    switch (fault.kind) {
      case 'malformed':
        await sink.write(`event:conversation.message.delta\ndata:{"id":"${currentMessageId}","content":<<not json>>\n\n`)
        return true
      case 'truncate':
        fail(rt, chat, 5000, 'stream truncated by the emulator')
        sink.end()
        return false
      case 'stream_error': {
        const code = fault.code ?? 5000
        const msg = fault.msg ?? cozeMessage(code)
        fail(rt, chat, code, msg)
        await emit('error', { code, msg })
        await sink.write(doneFrame)
        sink.end()
        return false
      }
      case 'chat_failed': {
        const code = fault.code ?? 5000
        fail(rt, chat, code, fault.msg ?? cozeMessage(code))
        await emit('conversation.chat.failed', chatView(chat))
        await sink.write(doneFrame)
        sink.end()
        return false
      }
    }
  }

  const stoppedEarly = (): void => {
    if (stopper.reason === 'client') {
      chat.status = 'canceled'
      release(rt, chat)
    }
    // cancel: the cancel handler already set `canceled`; close: nothing more to say
    if (stopper.reason === 'cancel' && sink.open) void sink.write(doneFrame)
    sink.end()
  }

  try {
    chat.status = 'created'
    await emit('conversation.chat.created', chatView(chat))
    chat.status = 'in_progress'
    await emit('conversation.chat.in_progress', chatView(chat))

    for (const pm of plan.messages) {
      const pieces: Array<[content: string, reasoning: string | undefined]> = []
      if (pm.reasoningDeltas) for (const r of pm.reasoningDeltas) pieces.push(['', r])
      if (pm.deltas) for (const d of pm.deltas) pieces.push([d, undefined])
      const frame = deltaFramer(chat, pm)
      for (const [content, reasoning] of pieces) {
        if (fault && !fired && sent >= fireAt && !(await fire(pm.id))) return
        const ms = t.pace()
        if (ms > 0) await stopper.sleep(ms)
        if (stopper.stopped) return stoppedEarly()
        const p = sink.write(frame(content, reasoning))
        if (p) await p
        sent++
      }
      if (stopper.stopped) return stoppedEarly()
      const full = messageJson(chat, pm, pm.content, pm.reasoning)
      await emit('conversation.message.completed', full)
      const now = nowSec()
      chat.outputs.push({ ...full, meta_data: {}, created_at: now, updated_at: now } as unknown as Message)
    }
    if (fault && !fired && !(await fire(plan.messages.at(-1)?.id ?? chat.id))) return
    if (stopper.stopped) return stoppedEarly()

    chat.usage = plan.usage
    if (plan.toolCalls) {
      chat.status = 'requires_action'
      chat.required_action = { type: 'submit_tool_outputs', submit_tool_outputs: { tool_calls: plan.toolCalls } }
      release(rt, chat)
      await emit('conversation.chat.requires_action', chatView(chat))
    } else {
      chat.status = 'completed'
      chat.completed_at = nowSec()
      chat.required_action = undefined
      release(rt, chat)
      saveAnswers(rt, chat, plan)
      t.onComplete?.()
      await emit('conversation.chat.completed', chatView(chat))
    }
    await sink.write(doneFrame)
    sink.end()
  } finally {
    chat.stop = undefined
    stopper.dispose()
    if (isRunning(chat)) fail(rt, chat, 5000, 'chat interrupted')
  }
}

function saveAnswers (rt: Runtime, chat: ChatRecord, plan: TurnPlan): void {
  if (!chat.autoSave) return
  const conv = rt.store.conversations.get(chat.conversation_id)
  if (!conv) return
  for (const pm of plan.messages) {
    if (pm.type !== 'answer') continue
    const m = storedMessage(conv, { role: 'assistant', type: 'answer', content: pm.content, content_type: 'text' }, chat.id, chat.bot_id)
    m.id = pm.id
    if (pm.reasoning !== undefined) m.reasoning_content = pm.reasoning
    rt.store.appendMessage(conv, m)
  }
}

export interface TurnOptions {
  stream: boolean
  /** bot-slow-<ms>: this request's delay */
  slowMs?: number
  /** bot-slow: the live slowDeltaMs */
  isSlow?: boolean
  doneFrame?: string
  onComplete?: () => void
}

/** Delta pacing: a latency fault, then the slow bots, then demo pacing, then deltaDelayMs. */
function paceOf (ctx: Ctx, o: TurnOptions): { pace: () => number; demo: boolean } {
  const { rt } = ctx
  const deltaMs = ctx.deltaMs
  if (deltaMs !== undefined) return { pace: () => deltaMs, demo: false }
  const slowMs = o.slowMs
  if (slowMs !== undefined) return { pace: () => slowMs, demo: false }
  if (o.isSlow) return { pace: () => rt.opts.slowDeltaMs, demo: false }
  const demo = rt.opts.paceDeltas
  if (demo) return { pace: () => pacedDelay(demo), demo: true }
  return { pace: () => rt.opts.deltaDelayMs, demo: false }
}

/** Demo pacing cuts CJK runs into a few characters per delta, so they visibly stream. */
function demoPlan (plan: TurnPlan): TurnPlan {
  return {
    ...plan,
    messages: plan.messages.map((m) => ({
      ...m,
      ...(m.deltas ? { deltas: splitCjk(m.deltas) } : {}),
      ...(m.reasoningDeltas ? { reasoningDeltas: splitCjk(m.reasoningDeltas) } : {})
    }))
  }
}

/** Starts a turn, streaming or in the background. Answers the HTTP request either way. */
export function startTurn (ctx: Ctx, chat: ChatRecord, turnPlan: TurnPlan, o: TurnOptions): void {
  const { rt } = ctx
  const stopper = new Stopper(rt.live)
  chat.stop = () => stopper.stop('cancel')
  const { pace, demo } = paceOf(ctx, o)
  const plan = demo ? demoPlan(turnPlan) : turnPlan
  const doneFrame = o.doneFrame ?? CHAT_DONE_FRAME
  const onComplete = o.onComplete
  if (o.stream) {
    const sink = new SseSink(ctx.res, ctx.logid, rt.openStreams)
    ctx.res.once('close', () => { if (!ctx.res.writableEnded) stopper.stop('client') })
    playTurn({ rt, chat, plan, sink, stopper, fault: ctx.fault, pace, doneFrame, onComplete }).catch(() => sink.end())
    return
  }
  // non-stream: answer in_progress now, finish in the background
  chat.status = 'in_progress'
  const jsonFault = ctx.fault && (ctx.fault.kind === 'truncate' || ctx.fault.kind === 'malformed') ? ctx.fault : undefined
  const turnFault = jsonFault ? undefined : ctx.fault
  sendOk(ctx.res, ctx.logid, chatView(chat), jsonFault)
  setImmediate(() => { playTurn({ rt, chat, plan, sink: NULL_SINK, stopper, fault: turnFault, pace, doneFrame, onComplete }).catch(() => undefined) })
}

/**
 * The conversation a new chat runs on: the given one (4200 if unknown or another scope's, 4016
 * while a chat runs on it), or a new one owned by the caller.
 */
export function conversationForChat (ctx: Ctx, convId: string, botId: string): Conversation {
  const { rt } = ctx
  if (!convId) return rt.store.createConversation(botId, {}, '', ctx.principal.scope)
  const found = rt.store.conversations.get(convId)
  if (!found || !sees(ctx.principal, found.owner)) throw notFound('conversation not found')
  if (found.runningChatId && isRunning(rt.store.chats.get(found.runningChatId))) throw new CozeFault(4016)
  return found
}

/** Creates the chat record, marks the conversation busy and saves the user's messages (auto_save_history). */
export function beginChat (ctx: Ctx, conv: Conversation, botId: string, additional: VisibleMessage[], metaData: Record<string, string>, autoSave: boolean): ChatRecord {
  const { rt } = ctx
  const chat: ChatRecord = {
    id: newId(),
    conversation_id: conv.id,
    bot_id: botId,
    created_at: nowSec(),
    meta_data: metaData,
    last_error: { code: 0, msg: '' },
    status: 'created',
    usage: { ...ZERO_USAGE },
    section_id: conv.last_section_id,
    owner: conv.owner,
    autoSave,
    outputs: [],
    stop: undefined
  }
  rt.store.chats.set(chat.id, chat)
  conv.runningChatId = chat.id
  if (autoSave) {
    for (const m of additional) rt.store.appendMessage(conv, storedMessage(conv, m, chat.id, botId))
  }
  return chat
}

// ---------------------------------------------------------------------------
// Handlers

function createChat (ctx: Ctx): void {
  const { rt, body } = ctx
  const stream = body.stream === true
  const botId = str(body.bot_id)
  if (!botId) throw badRequest('bot_id is required')
  const bot = resolveBot(botId)
  if (!bot) throw notFound(`The bot ${botId} does not exist or has not been published to the API channel.`)
  assertBotAllowed(ctx, botId)
  const autoSave = body.auto_save_history !== false
  if (!stream && !autoSave) throw badRequest('auto_save_history must be true when stream is false')
  const additional = parseEnterMessages(body.additional_messages, 'additional_messages')
  const conv = conversationForChat(ctx, ctx.query.conversation_id || str(body.conversation_id), botId)
  const visible = visibleHistory(conv).concat(additional)
  const chat = beginChat(ctx, conv, botId, additional, stringMap(body.meta_data), autoSave)
  const plan = planTurn(bot.def.behaviour, visible, (id) => rt.store.files.get(id))
  startTurn(ctx, chat, plan, { stream, slowMs: bot.slowMs, isSlow: bot.def.behaviour === 'slow' })
}

function idsOf (ctx: Ctx): { conversationId: string; chatId: string } {
  return {
    conversationId: ctx.query.conversation_id || str(ctx.body.conversation_id),
    chatId: ctx.query.chat_id || str(ctx.body.chat_id)
  }
}

function findChat (ctx: Ctx): ChatRecord {
  const { conversationId, chatId } = idsOf(ctx)
  if (!chatId) throw badRequest('chat_id is required')
  if (!conversationId) throw badRequest('conversation_id is required')
  const chat = ctx.rt.store.chats.get(chatId)
  if (!chat || chat.conversation_id !== conversationId || !sees(ctx.principal, chat.owner)) throw notFound('chat not found')
  return chat
}

function retrieveChat (ctx: Ctx): void {
  sendOk(ctx.res, ctx.logid, chatView(findChat(ctx)), ctx.fault)
}

function listChatMessages (ctx: Ctx): void {
  sendOk(ctx.res, ctx.logid, findChat(ctx).outputs, ctx.fault)
}

function cancelChat (ctx: Ctx): void {
  const chat = findChat(ctx)
  if (!isRunning(chat)) throw new CozeFault(4104, `The chat cannot be canceled because its status is ${chat.status}.`)
  chat.status = 'canceled'
  release(ctx.rt, chat)
  chat.stop?.()
  sendOk(ctx.res, ctx.logid, chatView(chat), ctx.fault)
}

function submitToolOutputs (ctx: Ctx): void {
  const { rt, body } = ctx
  const chat = findChat(ctx)
  const stream = body.stream === true
  if (!Array.isArray(body.tool_outputs) || body.tool_outputs.length === 0) throw badRequest('tool_outputs must be a non-empty array')
  if (chat.status !== 'requires_action' || !chat.required_action) throw badRequest(`The chat is not waiting for tool outputs (status ${chat.status}).`)
  if (!chat.autoSave) throw new CozeFault(5000)
  const calls = chat.required_action.submit_tool_outputs.tool_calls
  const outputs: string[] = []
  for (const raw of body.tool_outputs as unknown[]) {
    const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>
    const id = str(o.tool_call_id)
    if (!calls.some((c) => c.id === id)) throw badRequest(`unknown tool_call_id: ${id}`)
    if (typeof o.output !== 'string') throw badRequest('output must be a string')
    outputs.push(o.output)
  }
  const conv = rt.store.conversations.get(chat.conversation_id)
  if (conv) {
    if (conv.runningChatId && conv.runningChatId !== chat.id && isRunning(rt.store.chats.get(conv.runningChatId))) throw new CozeFault(4016)
    conv.runningChatId = chat.id
  }
  chat.required_action = undefined
  chat.status = 'in_progress'
  const bot = resolveBot(chat.bot_id)
  startTurn(ctx, chat, planToolAnswer(outputs, chat.usage), { stream, slowMs: bot?.slowMs, isSlow: bot?.def.behaviour === 'slow' })
}

export const chatRoutes: RouteDef[] = [
  { method: 'POST', path: '/v3/chat', handler: createChat, streamable: true, faultIdField: 'bot_id' },
  { method: ['GET', 'POST'], path: '/v3/chat/retrieve', handler: retrieveChat },
  { method: 'GET', path: '/v3/chat/message/list', handler: listChatMessages },
  { method: 'POST', path: '/v3/chat/cancel', handler: cancelChat },
  { method: 'POST', path: '/v3/chat/submit_tool_outputs', handler: submitToolOutputs, streamable: true }
]
