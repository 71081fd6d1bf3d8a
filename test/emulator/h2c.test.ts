// The emulator's h2c listener (http2: true): HTTP/1.1 and HTTP/2 with prior knowledge on one
// port, the same routes on the same state; SSE over HTTP/2; a reset stream stops its pacing.
import http2 from 'node:http2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmulator, type Emulator } from '../../src/emulator/index.js'

let emu: Emulator
let session: http2.ClientHttp2Session

beforeAll(async () => {
  emu = await startEmulator({ http2: true })
  session = http2.connect(emu.url)
})
afterAll(async () => {
  session.close()
  await emu.close()
})

/** One HTTP/2 request: status, headers, body. */
function h2 (path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<{ status: number, headers: http2.IncomingHttpHeaders, body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': method, ':path': path, authorization: `Bearer ${emu.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) })
    let headers: http2.IncomingHttpHeaders = {}
    let text = ''
    req.on('response', (h) => { headers = h })
    req.setEncoding('utf8')
    req.on('data', (c: string) => { text += c })
    req.on('end', () => resolve({ status: Number(headers[':status']), headers, body: text }))
    req.on('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

describe('emulator over h2c', () => {
  it('serves the state of the HTTP/1.1 listener: a conversation created over one is there over the other', async () => {
    const created = await (await fetch(`${emu.url}/v1/conversation/create`, { method: 'POST', headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/json' }, body: '{}' })).json() as { data: { id: string } }
    const got = await h2(`/v1/conversation/retrieve?conversation_id=${created.data.id}`)
    expect(got.status).toBe(200)
    expect(JSON.parse(got.body)).toMatchObject({ code: 0, data: { id: created.data.id } })
    const rec = emu.requests.at(-1)!
    expect(rec).toMatchObject({ httpVersion: '2.0', path: '/v1/conversation/retrieve', finished: true, aborted: false })
    expect(rec.headers.host).toBe(emu.url.replace('http://', ''))
    expect(Object.keys(rec.headers).some((k) => k.startsWith(':'))).toBe(false)
    expect(emu.connections.h2c).toBe(1)
    expect(emu.connections.http1).toBeGreaterThanOrEqual(1)
  })

  it('streams a chat as SSE, without Content-Length, to its done', async () => {
    const r = await h2('/v3/chat', { bot_id: 'bot-echo', user_id: 'u', stream: true, additional_messages: [{ role: 'user', content: 'one two three', content_type: 'text' }] })
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/)
    expect(r.headers['content-length']).toBeUndefined()
    expect(r.headers['x-tt-logid']).toMatch(/^\d{14}[0-9A-F]{20}$/)
    expect(r.body).toContain('event:conversation.message.delta')
    expect(r.body.endsWith('event:done\ndata:"[DONE]"\n\n')).toBe(true)
  })

  it('a stream the client resets is recorded aborted, and the connection carries on', async () => {
    const req = session.request({ ':method': 'POST', ':path': '/v3/chat', authorization: `Bearer ${emu.token}`, 'content-type': 'application/json' })
    req.end(JSON.stringify({ bot_id: 'bot-slow-200', user_id: 'u', stream: true, additional_messages: [{ role: 'user', content: 'a b c d e f g h', content_type: 'text' }] }))
    await new Promise<void>((resolve) => req.once('data', () => resolve()))
    req.close(http2.constants.NGHTTP2_CANCEL)
    const rec = emu.requests.at(-1)!
    for (let i = 0; i < 100 && !rec.aborted; i++) await new Promise((r) => setTimeout(r, 10))
    expect(rec).toMatchObject({ path: '/v3/chat', aborted: true, finished: false })
    expect((await h2('/v1/users/me')).status).toBe(200)
    expect(emu.connections.h2c).toBe(1)
  })
})
