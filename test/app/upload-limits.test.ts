// Issue 18.7: uploads say what they did, on every upload route (they share one reader,
// src/routes/multipart-file.ts). One file per upload (a second is a 400, and Coze keeps
// nothing), a text field over its limit is a 400 (never cut silently), and a client that
// leaves mid-upload is logged as a client abort at info, not as a Coze fault.
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from '../helpers/stack.js'

interface UploadRoute { path: string, coze: string, file: string, field: string }
const ROUTES: UploadRoute[] = [
  { path: '/api/v1/upload', coze: '/v1/files/upload', file: 'a.txt', field: 'description' },
  { path: '/api/v1/audio/transcriptions', coze: '/v1/audio/transcriptions', file: 'a.wav', field: 'prompt' },
  { path: '/v1/audio/transcriptions', coze: '/v1/audio/transcriptions', file: 'a.wav', field: 'prompt' }
]

/** Code and message in the route's surface shape (OpenAI's {error} on /v1). */
const errorOf = (body: any) => body.error ? { code: String(body.error.code).toUpperCase(), message: body.error.message } : { code: body.code, message: body.message }

describe.each(ROUTES)('uploads say what they did: $path', (route) => {
  let s: Stack
  let url = ''
  beforeAll(async () => {
    s = await startStack({ SESSION_STORE: 'memory' })
    url = await s.app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => { await s.close() })

  const upload = async (fill: (f: FormData) => void) => {
    const form = new FormData()
    fill(form)
    const res = await fetch(`${url}${route.path}`, { method: 'POST', body: form })
    return { status: res.status, body: await res.json() as any }
  }
  const stored = () => s.emu.requests.filter((r) => r.path === route.coze && r.finished).length
  const file = (f: FormData, content = 'one', name = route.file) => f.append('file', new Blob([content]), name)

  const rows: Array<[string, (f: FormData) => void, RegExp]> = [
    ['two files', (f) => { file(f); file(f, 'two', `b-${route.file}`) }, /One file per upload/],
    ['a file and another file field', (f) => { file(f); f.append('other', new Blob(['two']), 'b.txt') }, /One file per upload/],
    ['a 70 KB text field before the file', (f) => { f.append(route.field, 'd'.repeat(70 * 1024)); file(f) }, new RegExp(`"${route.field}" is over 64 KB`)],
    ['a 70 KB text field after the file', (f) => { file(f); f.append(route.field, 'd'.repeat(70 * 1024)) }, new RegExp(`"${route.field}" is over 64 KB`)]
  ]

  it.each(rows)('%s → 400, and Coze stores nothing', async (_name, fill, message) => {
    const before = stored()
    const r = await upload(fill)
    expect(r.status).toBe(400)
    expect(errorOf(r.body)).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringMatching(message) })
    expect(stored()).toBe(before)
  })

  if (route.field === 'description') {
    it('a description of exactly 64 KB, before or after the file, is kept whole; an empty one is "not given"', async () => {
      const full = 'd'.repeat(64 * 1024)
      const before = await upload((f) => { f.append('description', full); file(f) })
      expect(before.status).toBe(200)
      expect(before.body.data.description).toBe(full)
      const after = await upload((f) => { file(f); f.append('description', '说明') })
      expect(after.body.data.description).toBe('说明')
      const empty = await upload((f) => { f.append('description', ''); file(f) })
      expect(empty.status).toBe(200)
      expect(empty.body.data).not.toHaveProperty('description')
    })
  }

  const part = `--XX\r\nContent-Disposition: form-data; name="file"; filename="${route.file}"\r\n\r\n` + 'x'.repeat(5000)
  const whole = `${part}\r\n--XX--\r\n`
  it.each([
    ['mid-body', `Content-Length: 100000\r\n\r\n${part}`],
    ['while Coze has not answered yet', `Content-Length: ${whole.length}\r\n\r\n${whole}`]
  ])('a client that aborts %s is logged as a client abort at info, never as an upstream failure', async (_when, rest) => {
    s.emu.faults.inject({ kind: 'latency', headersMs: 1500 }, { path: route.coze, times: 1 })
    const port = Number(new URL(url).port)
    const from = s.logs.length
    await new Promise<void>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.write(`POST ${route.path} HTTP/1.1\r\nHost: gw\r\nContent-Type: multipart/form-data; boundary=XX\r\n${rest}`)
        setTimeout(() => { sock.destroy(); resolve() }, 300)
      })
      sock.on('error', () => {})
    })
    s.emu.faults.clear()
    await new Promise((r) => setTimeout(r, 300))
    const lines = s.logs.slice(from).map((l) => JSON.parse(l))
    expect(lines.filter((l) => l.level >= 40)).toEqual([])
    // Not a refusal either: the client did nothing wrong, it left.
    expect(lines.filter((l) => l.code !== undefined || String(l.msg).startsWith('refused'))).toEqual([])
    expect(lines.find((l) => l.msg === 'request aborted by the client')).toMatchObject({ level: 30, url: route.path })
    expect(JSON.stringify(lines)).not.toContain('UPSTREAM_UNAVAILABLE')
  })
})
