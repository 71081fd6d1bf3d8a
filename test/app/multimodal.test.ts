// Multimodal chat: content parts → Coze object_string, Coze's rules enforced before Coze is called,
// and upload → chat with the file_id end to end (JSON and SSE).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSse, startStack, userMsg, type Stack } from '../helpers/stack.js'

describe('multimodal chat', () => {
  let s: Stack
  let url: string
  let fileId: string
  beforeAll(async () => {
    s = await startStack()
    url = await s.app.listen({ host: '127.0.0.1', port: 0 })
    const form = new FormData()
    form.append('file', new Blob(['%PDF-1.4 fake']), 'report.pdf')
    const up = await (await fetch(`${url}/api/v1/upload`, { method: 'POST', body: form })).json() as { data: { file_id: string } }
    fileId = up.data.file_id
  })
  afterAll(async () => { await s.close() })

  const chat = (body: Record<string, unknown>) => s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', ...body } })
  const lastCozeMessages = () => {
    const r = s.emu.requests.findLast((q) => q.path === '/v3/chat')!
    return (r.body as { additional_messages: Array<{ role: string, content: string, content_type: string }> }).additional_messages
  }
  const expect400 = async (messages: unknown[], rule: RegExp) => {
    const before = s.emu.requests.filter((r) => r.path === '/v3/chat').length
    const res = await chat({ messages })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ success: false, code: 'VALIDATION_ERROR' })
    expect(res.json().message).toMatch(rule)
    expect(s.emu.requests.filter((r) => r.path === '/v3/chat').length).toBe(before)
  }

  it('upload, then chat with the file_id (JSON): Coze gets object_string and the answer names the file', async () => {
    const res = await chat({ messages: [{ role: 'user', content: [{ type: 'text', text: 'summarise this' }, { type: 'file', file_id: fileId }] }] })
    expect(res.statusCode).toBe(200)
    expect(res.json().data.content).toContain(`I received the file "report.pdf" (${fileId}).`)
    expect(res.json().data.content).toContain('summarise this')
    const [m] = lastCozeMessages()
    expect(m!.content_type).toBe('object_string')
    expect(JSON.parse(m!.content)).toEqual([{ type: 'text', text: 'summarise this' }, { type: 'file', file_id: fileId }])
  })

  it('the same over SSE: the streamed answer names the file', async () => {
    const res = await chat({ stream: true, messages: [{ role: 'user', content: [{ type: 'image', file_id: fileId }, { type: 'text', text: 'what is it?' }] }] })
    expect(res.statusCode).toBe(200)
    const frames = parseSse(res.body)
    expect(frames.map((f) => f.type).slice(-2)).toEqual(['chat_completed', 'end'])
    const text = frames.filter((f) => f.type === 'message_delta').map((f) => f.content).join('')
    expect(text).toContain('report.pdf')
  })

  it('file_url parts and audio parts go through as given', async () => {
    const res = await chat({ messages: [{ role: 'user', content: [{ type: 'text', text: 'listen' }, { type: 'audio', file_url: 'https://example.com/a.mp3' }] }] })
    expect(res.statusCode).toBe(200)
    expect(res.json().data.content).toContain('https://example.com/a.mp3')
    expect(JSON.parse(lastCozeMessages()[0]!.content)).toEqual([{ type: 'text', text: 'listen' }, { type: 'audio', file_url: 'https://example.com/a.mp3' }])
  })

  it('an image-only message next to a user text message is accepted (Coze\'s neighbour rule)', async () => {
    const res = await chat({ messages: [userMsg('look at this'), { role: 'user', content: [{ type: 'image', file_id: fileId }] }] })
    expect(res.statusCode).toBe(200)
    expect(lastCozeMessages().map((m) => m.content_type)).toEqual(['text', 'object_string'])
  })

  it('a text-only part list is sent as plain text (Coze: pure text must use content_type text)', async () => {
    const res = await chat({ messages: [{ role: 'user', content: [{ type: 'text', text: 'just words' }] }] })
    expect(res.statusCode).toBe(200)
    expect(lastCozeMessages()[0]).toMatchObject({ content: 'just words', content_type: 'text' })
  })

  it('breaking a Coze rule is a 400 that names the rule, before Coze is called', async () => {
    await expect400([{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image' }] }], /messages\[0\]\.content\[1\]: a image part needs "file_id".*or "file_url"/)
    await expect400([{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }, { type: 'file', file_id: fileId }] }], /at most one text part/)
    await expect400([{ role: 'user', content: [{ type: 'image', file_id: fileId }] }], /only file\/image\/audio parts needs a text part, or a user text message right before or after it/)
    await expect400([{ role: 'user', content: [{ type: 'text', text: '' }, { type: 'image', file_id: fileId }] }], /text part needs a non-empty "text"/)
    await expect400([{ role: 'user', content: [{ type: 'video', file_id: fileId }] }], /content/)
    await expect400([userMsg('hi'), { role: 'assistant', content: [{ type: 'image', file_id: fileId }] }, userMsg('again')], /only user messages may carry file/)
  })

  it('an error names the message by its index in the request, system messages included', async () => {
    await expect400([{ role: 'system', content: 'be brief' }, { role: 'user', content: [{ type: 'file' }, { type: 'text', text: 'x' }] }], /messages\[1\]\.content\[0\]/)
  })

  it('a pre-serialised object_string string is held to the same rules', async () => {
    await expect400([{ role: 'user', content: 'not json', content_type: 'object_string' }], /JSON array of parts/)
    await expect400([{ role: 'user', content: JSON.stringify([{ type: 'image' }, { type: 'text', text: 'x' }]), content_type: 'object_string' }], /needs "file_id"/)
    const ok = await chat({ messages: [{ role: 'user', content: JSON.stringify([{ type: 'text', text: 'see' }, { type: 'image', file_id: fileId }]), content_type: 'object_string' }] })
    expect(ok.statusCode).toBe(200)
    expect(ok.json().data.content).toContain('report.pdf')
  })
})
