import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from '../helpers/stack.js'

describe('POST /api/v1/upload', () => {
  let s: Stack
  let url: string
  beforeAll(async () => {
    s = await startStack({ MAX_UPLOAD_MB: '1' })
    url = await s.app.listen({ host: '127.0.0.1', port: 0 })
  })
  afterAll(async () => { await s.close() })

  const upload = (form: FormData) => fetch(`${url}/api/v1/upload`, { method: 'POST', body: form })

  it('streams the file to Coze and returns file_id, file_name, bytes, created_at (ISO 8601) and file_url', async () => {
    const form = new FormData()
    form.append('description', '这是一个测试文件')
    form.append('file', new Blob(['hello coze']), 'test.txt')
    const res = await upload(form)
    expect(res.status).toBe(200)
    const body = await res.json() as any
    expect(body.success).toBe(true)
    expect(body.message).toBe('File uploaded successfully')
    expect(body.data).toMatchObject({ file_name: 'test.txt', bytes: 10, description: '这是一个测试文件' })
    expect(body.data.file_id).toMatch(/^\d+$/)
    expect(body.file_id).toBe(body.data.file_id)
    expect(new Date(body.data.created_at).toISOString()).toBe(body.data.created_at)
    expect(body.data.file_url).toBeNull()
    const up = s.emu.requests.find((r) => r.path === '/v1/files/upload')!
    expect(up.body).toMatchObject({ fileName: 'test.txt', bytes: 10 })
  })

  it('the uploaded file can be used in a chat, and the bot names it', async () => {
    const form = new FormData()
    form.append('file', new Blob(['png bytes']), 'cat.png')
    const { data } = await (await upload(form)).json() as any
    const res = await s.app.inject({
      method: 'POST', url: '/api/v1/chat',
      payload: { user_id: 'u', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image', file_id: data.file_id }] }] }
    })
    expect(res.statusCode).toBe(200)
    expect(res.json().data.content).toContain('cat.png')
  })

  it('413 "File too large. Maximum size is 1MB" over MAX_UPLOAD_MB, and nothing is stored upstream', async () => {
    const before = s.emu.requests.filter((r) => r.path === '/v1/files/upload' && r.finished).length
    const form = new FormData()
    form.append('file', new Blob([new Uint8Array(1024 * 1024 + 10)]), 'big.bin')
    const res = await upload(form)
    expect(res.status).toBe(413)
    expect(await res.json() as any).toMatchObject({ success: false, message: 'File too large. Maximum size is 1MB' })
    const after = s.emu.requests.filter((r) => r.path === '/v1/files/upload' && r.finished && (r.body as { bytes?: number })?.bytes).length
    expect(after).toBe(before)
  })

  it('400 without a file, 400 for an empty file, 415 for a non-multipart body', async () => {
    const none = new FormData()
    none.append('description', 'no file')
    const r1 = await upload(none)
    expect(r1.status).toBe(400)
    expect((await r1.json() as any).message).toMatch(/file/)

    const empty = new FormData()
    empty.append('file', new Blob([]), 'empty.txt')
    const r2 = await upload(empty)
    expect(r2.status).toBe(400)
    expect((await r2.json() as any).message).toMatch(/empty/)

    const r3 = await fetch(`${url}/api/v1/upload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(r3.status).toBe(415)
    expect((await r3.json() as any).success).toBe(false)
  })
})
