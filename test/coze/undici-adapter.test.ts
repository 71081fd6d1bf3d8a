// The undici transport under the SDK's streaming calls: same contract as axios's http
// adapter (a Node Readable, abort → ERR_CANCELED, timeout → ECONNABORTED, system error
// codes), and the calls it does not take go to axios's own adapter.
import http from 'node:http'
import { gzipSync } from 'node:zlib'
import { Readable } from 'node:stream'
import type { AddressInfo } from 'node:net'
import axios, { type AxiosAdapter, type AxiosError } from 'axios'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CozeAPI, APIUserAbortError, TimeoutError } from '@coze/api'
import { createUndiciAdapter, type UndiciAdapter } from '../../src/coze/undici-adapter.js'
import { createCozeClient } from '../../src/coze/client.js'
import { startEmulator, type Emulator } from '../../src/emulator/index.js'

let server: http.Server
let base: string
const seen: Array<{ url: string, headers: http.IncomingHttpHeaders, body: string }> = []

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      seen.push({ url: req.url!, headers: req.headers, body })
      if (req.url === '/sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-tt-logid': 'L1' })
        res.write('data: one\n\n')
        setTimeout(() => res.end('data: two\n\n'), 20)
      } else if (req.url === '/gzip') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' })
        res.end(gzipSync('data: zipped\n\n'))
      } else if (req.url === '/slow-headers') {
        setTimeout(() => { if (!res.destroyed) res.writeHead(200).end('late') }, 2000)
      } else if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        res.write('data: first\n\n')
      } else if (req.url === '/500') {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('boom')
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":0,"data":{}}')
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const read = async (s: Readable) => {
  let t = ''
  for await (const c of s) t += String(c)
  return t
}

describe('undici stream adapter', () => {
  let u: UndiciAdapter
  let fallbackCalls = 0
  const fallback: AxiosAdapter = (config) => { fallbackCalls++; return axios.getAdapter('http')(config) }
  const client = () => axios.create({ adapter: u.adapter })
  beforeAll(() => { u = createUndiciAdapter(fallback, { env: {} }) })
  afterAll(async () => { await u.close() })

  it('streams a response as a Node Readable with status and headers, sending the body and headers', async () => {
    const before = fallbackCalls
    const res = await client().post(`${base}/sse`, { hello: 'coze' }, { responseType: 'stream', headers: { authorization: 'Bearer t' } })
    expect(res.status).toBe(200)
    expect(res.headers['x-tt-logid']).toBe('L1')
    expect(res.data).toBeInstanceOf(Readable)
    expect(await read(res.data)).toBe('data: one\n\ndata: two\n\n')
    expect(fallbackCalls).toBe(before)
    const req = seen.at(-1)!
    expect(JSON.parse(req.body)).toEqual({ hello: 'coze' })
    expect(req.headers.authorization).toBe('Bearer t')
    expect(req.headers['content-type']).toContain('application/json')
  })

  it('decompresses a gzip answer', async () => {
    const res = await client().get(`${base}/gzip`, { responseType: 'stream' })
    expect(await read(res.data)).toBe('data: zipped\n\n')
  })

  it('leaves non-stream calls, and calls with params, to axios\'s http adapter', async () => {
    const before = fallbackCalls
    const json = await client().get(`${base}/json`)
    expect(json.data).toEqual({ code: 0, data: {} })
    await read((await client().get(`${base}/sse`, { responseType: 'stream', params: { a: 1 } })).data)
    expect(fallbackCalls).toBe(before + 2)
  })

  it('with HTTP(S)_PROXY set, leaves every call to axios (which honours the proxy)', async () => {
    let calls = 0
    const p = createUndiciAdapter((c) => { calls++; return axios.getAdapter('http')(c) }, { env: { HTTPS_PROXY: 'http://proxy.invalid:3128' } })
    await read((await axios.create({ adapter: p.adapter }).get(`${base}/sse`, { responseType: 'stream' })).data)
    expect(calls).toBe(1)
    await p.close()
  })

  it('an abort before the response rejects with ERR_CANCELED', async () => {
    const ac = new AbortController()
    const pending = client().get(`${base}/slow-headers`, { responseType: 'stream', signal: ac.signal })
    setTimeout(() => ac.abort(), 50)
    const err = await pending.catch((e: AxiosError) => e)
    expect(axios.isCancel(err)).toBe(true)
    expect((err as AxiosError).code).toBe('ERR_CANCELED')
  })

  it('an abort after the response ends the body, and nothing is left to crash the process', async () => {
    const ac = new AbortController()
    const res = await client().get(`${base}/endless`, { responseType: 'stream', signal: ac.signal })
    const closed = new Promise((resolve) => (res.data as Readable).once('close', resolve))
    ac.abort()
    await closed
    expect((res.data as Readable).destroyed).toBe(true)
  })

  it('no response within `timeout` → ECONNABORTED "timeout of <n>ms exceeded"', async () => {
    const err = await client().get(`${base}/slow-headers`, { responseType: 'stream', timeout: 100 }).catch((e: AxiosError) => e) as AxiosError
    expect(err.code).toBe('ECONNABORTED')
    expect(err.message).toBe('timeout of 100ms exceeded')
  })

  it('a refused connection keeps its system code', async () => {
    const s = http.createServer()
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
    const port = (s.address() as AddressInfo).port
    await new Promise((resolve) => s.close(resolve))
    const err = await client().get(`http://127.0.0.1:${port}/`, { responseType: 'stream' }).catch((e: AxiosError) => e) as AxiosError
    expect(err.isAxiosError).toBe(true)
    expect(err.code).toBe('ECONNREFUSED')
  })

  it('a bad status rejects with the response, as validateStatus says', async () => {
    const err = await client().get(`${base}/500`, { responseType: 'stream' }).catch((e: AxiosError) => e) as AxiosError
    expect(err.response?.status).toBe(500)
    expect(err.response?.data).toBeInstanceOf(Readable)
  })
})

describe('the SDK on the gateway client (undici for streams)', () => {
  let emu: Emulator
  beforeAll(async () => { emu = await startEmulator() })
  afterAll(async () => { await emu.close() })

  it('streams a chat through the SDK, with the logid reported', async () => {
    const coze = createCozeClient({ baseURL: emu.url, token: emu.token, requestTimeoutMs: 5000 })
    let logid: string | undefined
    const events: string[] = []
    for await (const ev of await (await coze.sdk()).chat.stream({ bot_id: 'bot-echo', user_id: 'u', additional_messages: [{ role: 'user' as never, content: 'hi there', content_type: 'text' }] }, coze.options({ stream: true, onLogid: (l) => { logid = l } }))) {
      events.push(ev.event)
    }
    coze.close()
    expect(events[0]).toBe('conversation.chat.created')
    expect(events).toContain('conversation.message.delta')
    expect(events.at(-1)).toBe('done')
    expect(logid).toMatch(/\w+/)
  })

  it('maps an abort before the answer to the SDK\'s APIUserAbortError, and a timeout to TimeoutError', async () => {
    // '#': the SDK appends /v3/chat to the base URL; the fragment keeps the request on /slow-headers
    const coze = new CozeAPI({ baseURL: `${base}/slow-headers#`, token: 't', axiosOptions: { adapter: createUndiciAdapter(axios.getAdapter('http'), { env: {} }).adapter } })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 50)
    const it1 = coze.chat.stream({ bot_id: 'b', additional_messages: [] }, { signal: ac.signal } as never)
    const err1 = await (async () => { for await (const _ of await it1) { /* drain */ } })().catch((e: unknown) => e)
    expect(err1).toBeInstanceOf(APIUserAbortError)

    const slow = new CozeAPI({ baseURL: `${base}/slow-headers#`, token: 't', axiosOptions: { adapter: createUndiciAdapter(axios.getAdapter('http'), { env: {} }).adapter, timeout: 100 } })
    const err2 = await (async () => { for await (const _ of await slow.chat.stream({ bot_id: 'b', additional_messages: [] })) { /* drain */ } })().catch((e: unknown) => e)
    expect(err2).toBeInstanceOf(TimeoutError)
  })
})
