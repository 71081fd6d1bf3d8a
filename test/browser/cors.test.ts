// A page on one origin calls the gateway on another, in a real browser (Debian chromium):
// DELETE and a streaming POST pass the CORS preflight; an unlisted origin is refused.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { launchChromium, type Browser } from '../helpers/chromium.js'
import { startStack, type Stack } from '../helpers/stack.js'

interface Timed { at: number, frame: { type: string, content?: string } }

/** Runs in the page: creates a session, deletes it, reads it back, then streams a chat. */
async function frontend (gw: string) {
  const json = { 'content-type': 'application/json' }
  const created = await (await fetch(`${gw}/api/v1/sessions`, { method: 'POST', headers: json, body: JSON.stringify({ user_id: 'browser-user' }) })).json() as { data: { session_id: string } }
  const sid = created.data.session_id
  const del = await fetch(`${gw}/api/v1/sessions/${sid}?user_id=browser-user`, { method: 'DELETE' })
  const deleted = { status: del.status, body: await del.json() as { success: boolean } }
  const after = (await fetch(`${gw}/api/v1/sessions/${sid}?user_id=browser-user`)).status

  const t0 = performance.now()
  const res = await fetch(`${gw}/api/v1/chat`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ user_id: 'browser-user', messages: [{ role: 'user', content: 'one two three four five six' }], stream: true })
  })
  const headers = { contentType: res.headers.get('content-type'), chatId: res.headers.get('x-coze-chat-id') }
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const frames: Timed[] = []
  let buffer = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    buffer += decoder.decode(value, { stream: true })
    let sep
    while ((sep = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, sep)
      buffer = buffer.slice(sep + 2)
      const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n')
      if (data) frames.push({ at: performance.now() - t0, frame: JSON.parse(data) })
    }
  }
  return { sid, deleted, after, headers, frames }
}

describe('a browser page on another origin', () => {
  let browser: Browser
  let pageServer: Server
  let pageOrigin: string
  let page: Page
  let allowed: Stack
  let allowedUrl: string

  beforeAll(async () => {
    pageServer = createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>frontend</title><p>frontend</p>') })
    await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve))
    // localhost:<port> and 127.0.0.1:<other port> are two origins
    pageOrigin = `http://localhost:${(pageServer.address() as AddressInfo).port}`
    // listed with a trailing slash, as people paste it: still matches the Origin header
    allowed = await startStack({ CORS_ORIGINS: `https://other.example, ${pageOrigin}/`, SESSION_STORE: 'memory' }, { paceDeltas: { minMs: 40, maxMs: 60 } })
    allowedUrl = await allowed.app.listen({ host: '127.0.0.1', port: 0 })
    browser = await launchChromium()
    page = await browser.context.newPage()
    await page.goto(`${pageOrigin}/`)
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await allowed?.close()
    await new Promise((resolve) => pageServer?.close(resolve))
  })

  it('deletes a session with DELETE (after a preflight) and streams a chat frame by frame', async () => {
    const r = await page.evaluate(frontend, allowedUrl)
    expect(r.deleted.status).toBe(200)
    expect(r.deleted.body.success).toBe(true)
    expect(r.after).toBe(404)
    // the browser really asked first
    const preflights = allowed.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request' && l.method === 'OPTIONS')
    expect(preflights.some((l) => String(l.url).startsWith(`/api/v1/sessions/${r.sid}`) && l.statusCode === 204)).toBe(true)

    expect(r.headers.contentType).toMatch(/^text\/event-stream/)
    expect(r.headers.chatId).toBeTruthy() // an exposed header, readable by the page
    const types = r.frames.map((f) => f.frame.type)
    expect(types.slice(-2)).toEqual(['chat_completed', 'end'])
    const deltas = r.frames.filter((f) => f.frame.type === 'message_delta')
    expect(deltas.map((f) => f.frame.content).join('')).toContain('six')
    expect(deltas.length).toBeGreaterThanOrEqual(6)
    // frames reached the page as they were sent (≥ 40 ms apart upstream), not all at the end
    expect(deltas.at(-1)!.at - deltas[0]!.at).toBeGreaterThan(150)
  })

  it('is refused by a gateway whose CORS_ORIGINS does not list it', async () => {
    const other = await startStack({ CORS_ORIGINS: 'https://other.example', SESSION_STORE: 'memory' })
    try {
      const url = await other.app.listen({ host: '127.0.0.1', port: 0 })
      const outcome = await page.evaluate(async (gw) => {
        const results: string[] = []
        for (const init of [{ method: 'GET' }, { method: 'DELETE' }, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }]) {
          try { results.push(`status ${(await fetch(`${gw}/api/v1/sessions/x?user_id=u`, init)).status}`) } catch (err) { results.push((err as Error).message) }
        }
        return results
      }, url)
      expect(outcome).toEqual(['Failed to fetch', 'Failed to fetch', 'Failed to fetch'])
    } finally { await other.close() }
  })
})
