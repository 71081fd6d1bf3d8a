// COZE_HTTP2=true: the lean transport's streams share a few HTTP/2 connections (h2c over the
// emulator's loopback port), every other Coze call stays HTTP/1.1 through the SDK.
import { afterEach, describe, expect, it } from 'vitest'
import { CozeAPI } from '@coze/api'
import { createStreamTransport } from '../../src/coze/stream-transport.js'
import { parseSse, startStack, userMsg, type Stack } from '../helpers/stack.js'

const STREAMS = 200

describe('COZE_HTTP2', () => {
  let s: Stack | undefined
  afterEach(async () => { await s?.close(); s = undefined })

  it(`${STREAMS} concurrent chat streams share one or two HTTP/2 connections and all complete`, async () => {
    s = await startStack({ COZE_TRANSPORT: 'undici', COZE_HTTP2: 'true' }, { http2: true })
    const config = (await s.app.inject('/api/v1/config')).json().data
    expect(config).toMatchObject({ coze_transport: 'undici', coze_http2: true })
    const emu = s.emu
    const before = { ...emu.connections }
    // while the streams run, the most open at the emulator at once: they did overlap
    let open = 0
    const watch = setInterval(() => { open = Math.max(open, emu.requests.filter((r) => r.path === '/v3/chat' && !r.finished && !r.aborted).length) }, 20)
    const answers = await Promise.all(Array.from({ length: STREAMS }, (_, i) => s!.app.inject({
      method: 'POST',
      url: '/api/v1/chat',
      payload: { user_id: `u${i}`, bot_id: 'bot-slow-150', messages: [userMsg(`hello number ${i}`)], stream: true }
    })))
    clearInterval(watch)
    for (const res of answers) {
      expect(res.statusCode).toBe(200)
      const frames = parseSse(res.body)
      expect(frames.some((f) => f.type === 'message_delta')).toBe(true)
      expect(frames.at(-1)?.type).toBe('end')
      expect(frames.some((f) => f.type === 'error')).toBe(false)
    }
    expect(open).toBeGreaterThan(STREAMS / 2)
    const chats = emu.requests.filter((r) => r.path === '/v3/chat')
    expect(chats).toHaveLength(STREAMS)
    expect(chats.every((r) => r.httpVersion === '2.0' && r.finished)).toBe(true)
    expect(emu.connections.h2c - before.h2c).toBeGreaterThanOrEqual(1)
    expect(emu.connections.h2c - before.h2c).toBeLessThanOrEqual(2)
    // the SDK's calls (none on this path but a stray health check) stay HTTP/1.1, on few sockets
    expect(emu.requests.filter((r) => r.path !== '/v3/chat').every((r) => r.httpVersion === '1.1')).toBe(true)
  })

  it('is off by default: the streams go over HTTP/1.1 even where Coze speaks h2c', async () => {
    s = await startStack({ COZE_TRANSPORT: 'undici' }, { http2: true })
    expect((await s.app.inject('/api/v1/config')).json().data.coze_http2).toBe(false)
    const res = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', messages: [userMsg('hi')], stream: true } })
    expect(parseSse(res.body).at(-1)?.type).toBe('end')
    expect(s.emu.requests.filter((r) => r.path === '/v3/chat').map((r) => r.httpVersion)).toEqual(['1.1'])
    expect(s.emu.connections.h2c).toBe(0)
  })

  it('is reported false with COZE_TRANSPORT=sdk, which stays HTTP/1.1', async () => {
    s = await startStack({ COZE_TRANSPORT: 'sdk', COZE_HTTP2: 'true' }, { http2: true })
    expect((await s.app.inject('/api/v1/config')).json().data).toMatchObject({ coze_transport: 'sdk', coze_http2: false })
    const res = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', messages: [userMsg('hi')], stream: true } })
    expect(parseSse(res.body).at(-1)?.type).toBe('end')
    expect(s.emu.connections.h2c).toBe(0)
  })

  it('stays HTTP/1.1 behind HTTP(S)_PROXY (the proxy tunnel is HTTP/1.1)', async () => {
    const api = async () => new CozeAPI({ token: 't', baseURL: 'https://api.coze.cn' })
    const proxied = createStreamTransport('https://api.coze.cn', api, { http2: true, env: { HTTPS_PROXY: 'http://proxy.invalid:3128' } })
    const direct = createStreamTransport('https://api.coze.cn', api, { http2: true, env: {} })
    expect([proxied.http2, direct.http2]).toEqual([false, true])
    await Promise.all([proxied.close(), direct.close()])
  })
})
