import { newId, nowSec } from './ids.js'

/** A Map that forgets its oldest entries beyond `max`, so memory stays bounded. */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor (private readonly max: number) {
    super()
  }

  override set (key: K, value: V): this {
    super.set(key, value)
    if (this.size > this.max) {
      const oldest = this.keys().next()
      if (!oldest.done) this.delete(oldest.value)
    }
    return this
  }
}

export type Role = 'user' | 'assistant'

export interface Message {
  id: string
  conversation_id: string
  bot_id: string
  chat_id: string
  section_id: string
  role: Role
  type: string
  content: string
  content_type: string
  meta_data: Record<string, string>
  created_at: number
  updated_at: number
  reasoning_content?: string
}

export interface Conversation {
  id: string
  created_at: number
  updated_at: number
  meta_data: Record<string, string>
  last_section_id: string
  name: string
  creator_id: string
  connector_id: string
  bot_id: string
  /** every section, oldest first, at most MAX_MESSAGES_PER_CONVERSATION */
  messages: Message[]
  /** chat currently created / in_progress on this conversation */
  runningChatId: string | undefined
  /** the principal scope that created it (see auth.ts); other scopes cannot see it */
  owner: string
  /** a question chatflow asked its question here and waits for the reply (its workflow id) */
  awaitingReply: string | undefined
}

export type ChatStatus = 'created' | 'in_progress' | 'completed' | 'failed' | 'requires_action' | 'canceled'

export interface ToolCall {
  id: string
  type: 'function'
  function: { name: string; arguments: string }
}

export interface Usage { token_count: number; output_count: number; input_count: number }

export interface ChatRecord {
  id: string
  conversation_id: string
  bot_id: string
  created_at: number
  completed_at?: number
  failed_at?: number
  meta_data: Record<string, string>
  last_error: { code: number; msg: string }
  status: ChatStatus
  required_action?: { type: 'submit_tool_outputs'; submit_tool_outputs: { tool_calls: ToolCall[] } }
  usage: Usage
  section_id: string
  // ---- internal, not serialised ----
  /** the scope of its conversation */
  owner: string
  autoSave: boolean
  /** messages produced by the bot for this chat (GET /v3/chat/message/list) */
  outputs: Message[]
  /** stops the running turn (cancel); set while a turn runs */
  stop: (() => void) | undefined
}

export interface StoredFile {
  id: string
  bytes: number
  created_at: number
  file_name: string
  content_type: string
  data: Buffer
}

export type ExecuteStatus = 'Running' | 'Success' | 'Fail'

export interface WorkflowExecution {
  execute_id: string
  workflow_id: string
  bot_id: string
  /** 0 sync, 1 stream, 2 async */
  run_mode: 0 | 1 | 2
  logid: string
  create_time: number
  update_time: number
  status: ExecuteStatus
  /** ms epoch when an async run turns from Running to Success */
  finishAt: number | undefined
  output: string
  error_code: string
  error_message: string
  debug_url: string
  usage: Usage
  interrupt_data: { event_id: string; type: number; data: string } | undefined
}

export const MAX_MESSAGES_PER_CONVERSATION = 500

export class FileStore {
  private readonly files = new Map<string, StoredFile>()
  private total = 0

  constructor (private readonly maxBytes: number) {}

  add (fileName: string, contentType: string, data: Buffer): StoredFile {
    const file: StoredFile = { id: newId(), bytes: data.length, created_at: nowSec(), file_name: fileName, content_type: contentType, data }
    this.files.set(file.id, file)
    this.total += data.length
    for (const [id, f] of this.files) {
      if (this.total <= this.maxBytes || id === file.id) break
      this.files.delete(id)
      this.total -= f.bytes
    }
    return file
  }

  get (id: string): StoredFile | undefined {
    return this.files.get(id)
  }

  get totalBytes (): number {
    return this.total
  }
}

export class Store {
  readonly conversations = new BoundedMap<string, Conversation>(10_000)
  readonly chats = new BoundedMap<string, ChatRecord>(20_000)
  readonly executions = new BoundedMap<string, WorkflowExecution>(10_000)
  readonly files: FileStore

  constructor (maxFileBytes: number) {
    this.files = new FileStore(maxFileBytes)
  }

  createConversation (botId: string, metaData: Record<string, string> = {}, name = '', owner = ''): Conversation {
    const now = nowSec()
    const conv: Conversation = {
      id: newId(),
      created_at: now,
      updated_at: now,
      meta_data: metaData,
      last_section_id: newId(),
      name,
      creator_id: EMULATED_USER.user_id,
      connector_id: '1024',
      bot_id: botId,
      messages: [],
      runningChatId: undefined,
      owner,
      awaitingReply: undefined
    }
    this.conversations.set(conv.id, conv)
    return conv
  }

  appendMessage (conv: Conversation, msg: Message): void {
    conv.messages.push(msg)
    if (conv.messages.length > MAX_MESSAGES_PER_CONVERSATION) conv.messages.shift()
    conv.updated_at = msg.created_at
  }
}

export const EMULATED_USER = {
  user_id: '7500000000000000001',
  user_name: 'emulator',
  nick_name: 'Coze Emulator',
  avatar_url: 'https://example.invalid/avatar.png'
}

/** The public JSON of a conversation (ConversationData). */
export function conversationView (c: Conversation): Record<string, unknown> {
  return {
    id: c.id,
    created_at: c.created_at,
    updated_at: c.updated_at,
    meta_data: c.meta_data,
    last_section_id: c.last_section_id,
    name: c.name,
    creator_id: c.creator_id,
    connector_id: c.connector_id
  }
}

/** The public JSON of a chat (ChatV3ChatDetail). A chatflow run without a bot has no bot_id, as in the cloud capture. */
export function chatView (c: ChatRecord): Record<string, unknown> {
  const v: Record<string, unknown> = {
    id: c.id,
    conversation_id: c.conversation_id,
    ...(c.bot_id !== '' ? { bot_id: c.bot_id } : {}),
    created_at: c.created_at,
    meta_data: c.meta_data,
    last_error: c.last_error,
    status: c.status,
    usage: c.usage,
    section_id: c.section_id
  }
  if (c.completed_at !== undefined) v.completed_at = c.completed_at
  if (c.failed_at !== undefined) v.failed_at = c.failed_at
  if (c.required_action !== undefined) v.required_action = c.required_action
  return v
}

export function fileView (f: StoredFile): Record<string, unknown> {
  return { id: f.id, bytes: f.bytes, created_at: f.created_at, file_name: f.file_name }
}
