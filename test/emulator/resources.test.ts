import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BadRequestError, CozeAPI, NotFoundError, RoleType } from '@coze/api'
import { DEFAULT_BOT_ID, startEmulator } from '../../src/emulator/index.js'
import type { Emulator } from '../../src/emulator/index.js'
import { caught, drain, user } from './helpers.js'

let emu: Emulator
let coze: CozeAPI
let dir: string

beforeAll(async () => {
  emu = await startEmulator({ maxFileBytes: 1024 })
  coze = new CozeAPI({ token: emu.token, baseURL: emu.url })
  dir = mkdtempSync(join(tmpdir(), 'emu-'))
})
afterEach(() => emu.faults.clear())
afterAll(async () => { await emu.close() })

async function answer (messages: Parameters<CozeAPI['chat']['stream']>[0]['additional_messages']): Promise<string> {
  const { events } = await drain(coze.chat.stream({ bot_id: 'bot-echo', additional_messages: messages }))
  return (events.find((e) => e.event === 'conversation.message.completed')?.data as any)?.content
}

describe('files', () => {
  it('uploads a named file (ReadStream) and retrieves it', async () => {
    const path = join(dir, 'notes.txt')
    writeFileSync(path, 'twelve bytes')
    const file = await coze.files.upload({ file: createReadStream(path) })
    expect(file).toEqual({ id: expect.any(String), bytes: 12, created_at: expect.any(Number), file_name: 'notes.txt' })
    expect(await coze.files.retrieve(file.id)).toEqual(file)
    const rec = emu.requests.find((r) => r.path === '/v1/files/upload')!
    expect(rec.body).toEqual({ fileName: 'notes.txt', bytes: 12, contentType: 'text/plain' })
  })

  it('accepts a Buffer without a filename', async () => {
    const file = await coze.files.upload({ file: Buffer.from('abc') as any })
    expect(file.bytes).toBe(3)
    expect(file.file_name).toBe('file')
  })

  it('an unknown file id is 4200', async () => {
    const err = await caught(coze.files.retrieve('7000000000000000001'))
    expect(err).toBeInstanceOf(NotFoundError)
    expect(err.code).toBe(4200)
  })

  it('keeps files in bounded memory: the oldest are evicted beyond maxFileBytes', async () => {
    const a = await coze.files.upload({ file: Buffer.alloc(600) as any })
    const b = await coze.files.upload({ file: Buffer.alloc(600) as any })
    expect((await caught(coze.files.retrieve(a.id))).code).toBe(4200)
    expect((await coze.files.retrieve(b.id)).bytes).toBe(600)
  })

  it('the bot names a file referenced by file_id or file_url in object_string content', async () => {
    const path = join(dir, 'photo.png')
    writeFileSync(path, 'png')
    const file = await coze.files.upload({ file: createReadStream(path) })
    const content = JSON.stringify([{ type: 'text', text: 'what is this' }, { type: 'image', file_id: file.id }])
    expect(await answer([{ role: RoleType.User, content, content_type: 'object_string' }]))
      .toBe(`Turn 1. You said: "what is this". I received the file "photo.png" (${file.id}). [context: user]`)
    const byUrl = [{ type: 'text' as const, text: 'and this' }, { type: 'file' as const, file_url: 'https://example.com/a.pdf' }]
    expect(await answer([{ role: RoleType.User, content: byUrl, content_type: 'object_string' }]))
      .toBe('Turn 1. You said: "and this". I received the file "https://example.com/a.pdf". [context: user]')
  })

  it('object_string that breaks the rules is 4000', async () => {
    const err = await caught(coze.chat.create({ bot_id: 'bot-echo', additional_messages: [{ role: RoleType.User, content: JSON.stringify([{ type: 'text', text: 'only text' }]), content_type: 'object_string' }] }))
    expect(err).toBeInstanceOf(BadRequestError)
  })
})

describe('account', () => {
  it('users.me returns the emulated user', async () => {
    const me = await coze.users.me()
    expect(me).toEqual({ user_id: expect.any(String), user_name: expect.any(String), nick_name: expect.any(String), avatar_url: expect.any(String) })
  })

  it('workspaces.list pages with page_num/page_size and reports total_count', async () => {
    const p1 = await coze.workspaces.list({ page_num: 1, page_size: 1 })
    const p2 = await coze.workspaces.list({ page_num: 2, page_size: 1 })
    expect(p1.total_count).toBe(2)
    expect(p1.workspaces).toHaveLength(1)
    expect(p2.workspaces[0]!.id).not.toBe(p1.workspaces[0]!.id)
    expect(p1.workspaces[0]).toMatchObject({ role_type: 'owner', workspace_type: 'personal' })
  })
})

describe('conversations', () => {
  it('create (with messages and meta_data), retrieve and list by bot', async () => {
    const conv = await coze.conversations.create({ bot_id: 'bot-followup', meta_data: { k: 'v' }, messages: [user('seeded question'), { role: RoleType.Assistant, content: 'seeded answer', content_type: 'text' }] })
    expect(conv).toMatchObject({ id: expect.any(String), meta_data: { k: 'v' }, last_section_id: expect.any(String), created_at: expect.any(Number) })
    expect(await coze.conversations.retrieve(conv.id)).toEqual(conv)
    const listed = await coze.conversations.list({ bot_id: 'bot-followup' })
    expect(listed.conversations.map((c) => c.id)).toContain(conv.id)
    expect(listed.has_more).toBe(false)
    // the seeded messages are context
    const { events } = await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('next')] }))
    expect((events.find((e) => e.event === 'conversation.message.completed')?.data as any).content).toBe('Turn 2. You said: "next". Earlier you said: "seeded question". [context: user,assistant,user]')
  })

  it('list pages (page_num or page_index) and says has_more', async () => {
    for (let i = 0; i < 3; i++) await coze.conversations.create({ bot_id: 'bot-reasoning' })
    const p1 = await coze.conversations.list({ bot_id: 'bot-reasoning', page_num: 1, page_size: 2 })
    expect(p1.conversations).toHaveLength(2)
    expect(p1.has_more).toBe(true)
    const p2 = await coze.conversations.list({ bot_id: 'bot-reasoning', page_index: 2, page_size: 2 } as any)
    expect(p2.conversations).toHaveLength(1)
    expect(p2.has_more).toBe(false)
  })

  it('retrieve and clear of an unknown conversation are 4200', async () => {
    expect(await caught(coze.conversations.retrieve('1'))).toBeInstanceOf(NotFoundError)
    expect(await caught(coze.conversations.clear('1'))).toBeInstanceOf(NotFoundError)
  })

  it('message/create adds context; message/list returns top-level first_id, last_id, has_more', async () => {
    const conv = await coze.conversations.create({})
    const created = await coze.conversations.messages.create(conv.id, { role: RoleType.User, content: 'typed by hand', content_type: 'text', meta_data: { a: 'b' } })
    expect(created).toMatchObject({ conversation_id: conv.id, role: 'user', type: 'question', content: 'typed by hand', meta_data: { a: 'b' } })
    await drain(coze.chat.stream({ bot_id: 'bot-echo', conversation_id: conv.id, additional_messages: [user('then this')] }))
    const desc = await coze.conversations.messages.list(conv.id) as any
    expect(desc.code).toBe(0)
    expect(desc.data.map((m: any) => m.content)).toEqual(['Turn 2. You said: "then this". Earlier you said: "typed by hand". [context: user,user]', 'then this', 'typed by hand'])
    expect(desc.first_id).toBe(desc.data[0].id)
    expect(desc.last_id).toBe(desc.data[2].id)
    expect(desc.has_more).toBe(false)
    const page = await coze.conversations.messages.list(conv.id, { order: 'asc', limit: 2 }) as any
    expect(page.data.map((m: any) => m.content)).toEqual(['typed by hand', 'then this'])
    expect(page.has_more).toBe(true)
    const after = await coze.conversations.messages.list(conv.id, { order: 'asc', after_id: page.last_id }) as any
    expect(after.data).toHaveLength(1)
  })

  it('message retrieve, update (answers under `message`) and delete', async () => {
    const conv = await coze.conversations.create({})
    const m = await coze.conversations.messages.create(conv.id, { role: RoleType.User, content: 'v1', content_type: 'text', meta_data: {} })
    expect((await coze.conversations.messages.retrieve(conv.id, m.id)).content).toBe('v1')
    expect((await coze.conversations.messages.update(conv.id, m.id, { content: 'v2' })).content).toBe('v2')
    expect((await coze.conversations.messages.delete(conv.id, m.id)).id).toBe(m.id)
    expect(await caught(coze.conversations.messages.retrieve(conv.id, m.id))).toBeInstanceOf(NotFoundError)
  })
})

describe('bots', () => {
  it('listNew lists the emulated bots with names, descriptions, icons and is_published', async () => {
    const list = await coze.bots.listNew({ page_num: 1, page_size: 50 } as any)
    expect(list.total).toBeGreaterThanOrEqual(6)
    const ids = list.items.map((b) => b.id)
    for (const id of [DEFAULT_BOT_ID, 'bot-echo', 'bot-reasoning', 'bot-followup', 'bot-tool', 'bot-slow']) expect(ids).toContain(id)
    for (const b of list.items) expect(b).toMatchObject({ name: expect.any(String), description: expect.any(String), icon_url: expect.any(String), is_published: true })
    const page = await coze.bots.listNew({ page_index: 2, page_size: 2 } as any)
    expect(page.items.map((b) => b.id)).toEqual(ids.slice(2, 4))
  })

  it('retrieveNew gives BotInfo with onboarding_info; unknown ids are 4200', async () => {
    const info = await coze.bots.retrieveNew(DEFAULT_BOT_ID)
    expect(info).toMatchObject({ bot_id: DEFAULT_BOT_ID, name: 'Echo', onboarding_info: { prologue: expect.any(String), suggested_questions: expect.any(Array) } })
    const err = await caught(coze.bots.retrieveNew('7000000000000000000'))
    expect(err).toBeInstanceOf(NotFoundError)
    expect(err.code).toBe(4200)
  })
})
