// The contract of the lean transport (COZE_TRANSPORT=undici): for every hot-path call, the
// request Coze receives and what the gateway makes of the answer are those of the SDK
// (COZE_TRANSPORT=sdk). Each case runs once on each transport against the same emulator,
// with a client of its own, and compares, after replacing the ids Coze generates (ids,
// logids, tokens) by placeholders in order of appearance:
// - every request the emulator received: method, target (path and query), header lines in
//   order, raw body; and whether the client hung up on it;
// - the events yielded, or the error thrown (status, code, message, Coze code, logid);
// - the upstream calls reported for the metrics, the clock's begin/end/firstDelta, and the
//   credential pool's state afterwards.
// Each case also checks the outcome itself, so both transports cannot be wrong alike.
// The lean transport runs twice: over HTTP/1.1, and over HTTP/2 with prior knowledge (h2c,
// COZE_HTTP2=true) to the emulator's same port; the HTTP/2 requests are the same but for
// the header HTTP/2 cannot carry (connection).
import { generateKeyPairSync } from 'node:crypto'
import http from 'node:http'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RoleType } from '@coze/api'
import { createCozeClient, type CozeClient, type CozeTransport, type UpstreamClock } from '../../src/coze/client.js'
import { CredentialPool } from '../../src/coze/credentials.js'
import { streamChat, streamChatflow, streamToolOutputs, type ChatEvent, type ChatTurn } from '../../src/coze/chat.js'
import { resumeWorkflow, streamWorkflow, type WorkflowEvent } from '../../src/coze/workflows.js'
import { createConversation } from '../../src/coze/conversations.js'
import type { CredentialSpec } from '../../src/credentials-config.js'
import { ClientAbortError, GatewayError } from '../../src/errors.js'
import { startEmulator, CHATFLOW_ECHO_ID, type Emulator, type RecordedRequest } from '../../src/emulator/index.js'

const APP_ID = '1150000000077'
const KEY_ID = 'kid_contract'
const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })

let emu: Emulator
let dead: string
let odd: http.Server
let oddUrl: string
let oddH2: http2.Http2Server
let oddH2Url: string

// Framing the emulator never sends: a gzip-compressed chat stream; a workflow stream cut
// inside a line and inside a UTF-8 character, with CRLF line ends, spaces around the
// colon, a comment, a data line with no event line of its own, and an unfinished last line.
const CHAT_SSE = [
  'event:conversation.chat.created\ndata:{"id":"7500000000000000003","conversation_id":"7500000000000000001"}\n\n',
  'event:conversation.message.delta\ndata:{"id":"7500000000000000005","type":"answer","content":"压缩的"}\n\n',
  'event:conversation.chat.completed\ndata:{"id":"7500000000000000003","conversation_id":"7500000000000000001","usage":{"token_count":3}}\n\n',
  'event:done\ndata:"[DONE]"\n\n'
].join('')
const WORKFLOW_SSE = Buffer.from(
  ': hello\r\nid: 0\r\nevent : Message\r\ndata: {"content":"héllo 世界","node_title":"n","node_is_finish":false}\r\n\r\n' +
  'data: {"content":" again","node_title":"n","node_is_finish":true}\r\n\r\n' +
  'event: Done\r\ndata: {"debug_url":"https://www.coze.cn/work_flow?execute_id=7500000000000000009"}\r\n\r\ndata: {"cut')

beforeAll(async () => {
  const oddHandler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume()
    req.on('end', () => {
      if (req.url === '/v3/chat') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip', 'x-tt-logid': '20260101000000ABCDEF0123456789ABCDEF' })
        res.end(gzipSync(CHAT_SSE))
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      // one byte at a time: every line and every character is split somewhere
      let i = 0
      const next = () => { if (i < WORKFLOW_SSE.length) res.write(WORKFLOW_SSE.subarray(i, ++i), next); else res.end() }
      next()
    })
  }
  odd = http.createServer(oddHandler)
  await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve))
  oddUrl = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`
  // the same odd server over h2c, for the HTTP/2 run
  oddH2 = http2.createServer(oddHandler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void)
  await new Promise<void>((resolve) => oddH2.listen(0, '127.0.0.1', resolve))
  oddH2Url = `http://127.0.0.1:${(oddH2.address() as AddressInfo).port}`
  emu = await startEmulator({ http2: true, oauthApps: [{ appId: APP_ID, keyId: KEY_ID, publicKey: keys.publicKey }] })
  // a base URL where nothing listens
  const gone = await startEmulator()
  dead = gone.url
  await gone.close()
})
afterAll(async () => {
  await emu.close()
  odd.closeAllConnections()
  await new Promise((resolve) => odd.close(resolve))
  await new Promise((resolve) => oddH2.close(resolve))
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const limits = { connectTimeoutMs: 5000, idleTimeoutMs: 5000 }
const turn = (bot: string, text = 'hello contract', extra: Partial<ChatTurn> = {}): ChatTurn => ({
  bot_id: bot,
  user_id: 'contract-user',
  additional_messages: [{ role: 'user' as RoleType, type: 'question', content: text, content_type: 'text' }],
  ...extra
})

interface Tools {
  coze: CozeClient
  clock: UpstreamClock
  /** Drains `events`: every event, then the error (undefined when it ended normally). */
  drain: <E>(events: AsyncIterable<E>, onEvent?: (ev: E) => void) => Promise<{ events: E[], error: unknown }>
}

interface Trace {
  events: unknown[]
  error: unknown
  requests: unknown[]
  upstream: unknown[]
  clock: string[]
  pool: unknown
}

interface RunOptions {
  base?: string
  specs?: CredentialSpec[]
  sessionIsolation?: boolean
  /** only the requests to these paths */
  paths?: string[]
  /** before the case, on each run's own client (a fault injected here is for one run) */
  setup?: (t: Tools) => Promise<void>
  /** how long to wait for requests the case sends in the background (a cancel) */
  settle?: (requests: RecordedRequest[]) => boolean
}

/** The transports compared: the SDK, the lean one over HTTP/1.1, the lean one over h2c (COZE_HTTP2=true). */
type Variant = CozeTransport | 'undici-h2c'

/** Runs `body` on a client with `variant` and records what happened. */
async function run (variant: Variant, body: (t: Tools) => Promise<{ events: unknown[], error: unknown }>, o: RunOptions = {}): Promise<Trace> {
  const transport: CozeTransport = variant === 'sdk' ? 'sdk' : 'undici'
  const http2 = variant === 'undici-h2c'
  const baseURL = http2 && o.base === oddUrl ? oddH2Url : o.base ?? emu.url
  const credentials = new CredentialPool(o.specs ?? [{ kind: 'pat', token: emu.token, source: 'COZE_API_TOKEN' }], { baseURL, cooldownMs: 60_000, sessionIsolation: o.sessionIsolation ?? false })
  const coze = createCozeClient({ baseURL, credentials, requestTimeoutMs: 5000, transport, http2 })
  expect(coze.transport).toBe(transport)
  expect(coze.http2).toBe(http2)
  const h2cBefore = emu.connections.h2c
  expect(coze.streams === undefined).toBe(transport === 'sdk')
  const upstream: unknown[] = []
  coze.recorder = { upstream: (endpoint, outcome, cozeCode) => { upstream.push({ endpoint, outcome, cozeCode }) } }
  const clock: string[] = []
  const c: UpstreamClock = { begin: () => clock.push('begin'), end: () => clock.push('end'), firstDelta: () => clock.push('firstDelta') }
  const drain: Tools['drain'] = async (events, onEvent) => {
    const out: Array<Parameters<NonNullable<typeof onEvent>>[0]> = []
    try {
      for await (const ev of events) { out.push(ev); onEvent?.(ev) }
      return { events: out, error: undefined }
    } catch (err) {
      return { events: out, error: err }
    }
  }
  const tools = { coze, clock: c, drain }
  try {
    await o.setup?.(tools)
    const from = emu.requests.length
    const result = await body(tools)
    const mine = () => emu.requests.slice(from).filter((r) => !o.paths || o.paths.includes(r.path))
    // the streams over HTTP/2 (h2c) or HTTP/1.1, as asked; every other call over HTTP/1.1 (the SDK)
    const streamed = ['/v3/chat', '/v3/chat/submit_tool_outputs', '/v1/workflows/chat', '/v1/workflow/stream_run', '/v1/workflow/stream_resume']
    for (const r of mine()) expect(r.httpVersion).toBe(http2 && streamed.includes(r.path) ? '2.0' : '1.1')
    if (!http2) expect(emu.connections.h2c).toBe(h2cBefore)
    for (let i = 0; i < 100 && o.settle && !o.settle(mine()); i++) await sleep(20)
    // a client that hangs up: the emulator notes it once the socket closes
    await sleep(30)
    return {
      ...result,
      requests: mine().map((r) => ({ method: r.method, url: r.url, headers: r.rawHeaders, body: r.rawBody, aborted: r.aborted })),
      upstream,
      clock,
      pool: coze.credentials.snapshot().map((s) => ({ state: s.state, disabled_reason: s.disabled_reason }))
    }
  } finally {
    coze.credentials.stop()
    coze.close()
  }
}

/** Errors as the gateway shows them. */
function shown (err: unknown): unknown {
  if (err === undefined) return undefined
  if (err instanceof GatewayError) return { statusCode: err.statusCode, code: err.code, message: err.message, cozeCode: err.cozeCode, logid: err.logid }
  if (err instanceof ClientAbortError) return 'ClientAbortError'
  return { unexpected: String(err) }
}

/** The same trace with every generated value replaced by a placeholder (in order of appearance). */
function normalize (t: Trace): unknown {
  const seen = new Map<string, string>()
  const text = JSON.stringify({ ...t, error: shown(t.error) })
    .replace(/\b\d{14}[0-9A-F]{20}\b/g, '<logid>')
    .replace(/czs_[0-9a-f]+|eyJ[\w.-]+|\b\d{13,19}\b|\b\d{19}\/\d+\b/g, (m) => {
      if (!seen.has(m)) seen.set(m, `<${seen.size + 1}>`)
      return seen.get(m)!
    })
  return JSON.parse(text)
}

/**
 * The same trace without what differs by protocol alone: the header HTTP/2 forbids
 * (connection: keep-alive), and the cause of a reset (a closed socket; a reset stream).
 */
function overHttp2 (t: unknown): unknown {
  const x = JSON.parse(JSON.stringify(t).replace(/ \((other side closed|Stream closed with error code NGHTTP2_INTERNAL_ERROR)\)/g, ' (<reset>)')) as { requests: Array<{ headers: string[] }> }
  return { ...x, requests: x.requests.map((r) => ({ ...r, headers: r.headers.filter((_, i, h) => h[i - (i % 2)]!.toLowerCase() !== 'connection') })) }
}

/** Runs the case on the three transports; the traces must be the same. Returns the lean one (HTTP/1.1). */
async function both (body: (t: Tools) => Promise<{ events: unknown[], error: unknown }>, o: RunOptions = {}): Promise<Trace> {
  const [lean, sdk, h2c] = [await run('undici', body, o), await run('sdk', body, o), await run('undici-h2c', body, o)]
  const want = normalize(sdk)
  expect(normalize(lean)).toEqual(want)
  expect(overHttp2(normalize(h2c))).toEqual(overHttp2(want))
  return lean
}

const types = (evs: unknown[]) => (evs as Array<{ type: string }>).map((e) => e.type)
const errorOf = (t: Trace) => t.error as GatewayError

describe('the lean transport speaks what the SDK speaks', () => {
  it('a chat: the request, every event, the metrics and the clock', async () => {
    const t = await both(({ coze, clock, drain }) => drain(streamChat(coze, turn('bot-echo'), { ...limits, clock })))
    expect(types(t.events)).toEqual(['chat_created', ...Array(t.events.length - 2).fill('message_delta'), 'chat_completed'])
    expect(t.error).toBeUndefined()
    const req = t.requests[0] as { url: string, headers: string[], body: string }
    expect(req.url).toBe('/v3/chat')
    expect(req.headers).toContain(`Bearer ${emu.token}`)
    expect(req.headers.join('\n')).toMatch(/user-agent\ncoze-js\/\d/)
    expect(JSON.parse(req.body)).toMatchObject({ bot_id: 'bot-echo', user_id: 'contract-user', stream: true })
    expect(t.upstream).toEqual([{ endpoint: 'chat', outcome: 'ok', cozeCode: undefined }])
    expect(t.clock).toEqual(['begin', 'firstDelta', 'end'])
  })

  it('a chat on a conversation (conversation_id in the query), with custom variables and meta data', async () => {
    let conversation = ''
    const t = await both(({ coze, drain }) => drain(streamChat(coze, turn('bot-echo', 'again', { conversation_id: conversation, custom_variables: { city: '巴黎' }, meta_data: { k: 'v' }, auto_save_history: true }), limits)), {
      setup: async ({ coze }) => { conversation = (await createConversation(coze, { bot_id: 'bot-echo' })).id }
    })
    expect((t.requests[0] as { url: string }).url).toMatch(/^\/v3\/chat\?conversation_id=\d{19}$/)
    expect(types(t.events).at(-1)).toBe('chat_completed')
  })

  it('reasoning deltas and follow-ups', async () => {
    const r = await both(({ coze, drain }) => drain(streamChat(coze, turn('bot-reasoning'), limits)))
    expect(types(r.events)).toContain('reasoning_delta')
    const f = await both(({ coze, drain }) => drain(streamChat(coze, turn('bot-followup'), limits)))
    expect(types(f.events)).toContain('follow_up')
  })

  it('a tool call, then its tool outputs (submit_tool_outputs stream)', async () => {
    const t = await both(async ({ coze, drain }) => {
      const first = await drain(streamChat(coze, turn('bot-tool', 'Paris'), limits))
      const call = first.events.find((e) => e.type === 'tool_calls') as Extract<ChatEvent, { type: 'tool_calls' }>
      const second = await drain(streamToolOutputs(coze, { conversation_id: call.conversation_id, chat_id: call.chat_id, tool_outputs: [{ tool_call_id: call.tool_calls[0]!.id, output: '21 °C' }] }, limits))
      return { events: [...first.events, ...second.events], error: first.error ?? second.error }
    })
    expect(types(t.events)).toContain('tool_calls')
    expect(t.events.at(-1)).toMatchObject({ type: 'chat_completed' })
    expect((t.requests[1] as { url: string }).url).toMatch(/^\/v3\/chat\/submit_tool_outputs\?conversation_id=\d{19}&chat_id=\d{19}$/)
    expect(t.upstream).toEqual([{ endpoint: 'chat', outcome: 'ok', cozeCode: undefined }, { endpoint: 'tool_outputs', outcome: 'ok', cozeCode: undefined }])
  })

  it('a chatflow: its chat events and the debug_url of its done', async () => {
    const t = await both(({ coze, drain }) => drain(streamChatflow(coze, { workflow_id: CHATFLOW_ECHO_ID, additional_messages: [{ role: 'user' as RoleType, content: 'hi', content_type: 'text' }], parameters: { city: 'Paris' } }, limits)))
    expect(t.events.at(-1)).toMatchObject({ type: 'chat_completed', debug_url: expect.stringMatching(/^https:\/\/www\.coze\.cn\/work_flow\?execute_id=/) })
    expect(t.upstream).toEqual([{ endpoint: 'chatflow', outcome: 'ok', cozeCode: undefined }])
  })

  it('a workflow stream: messages, ping, done with its debug_url', async () => {
    const t = await both(({ coze, clock, drain }) => drain(streamWorkflow(coze, { workflow_id: 'wf-echo', parameters: { a: 1 } }, { ...limits, clock })))
    expect(types(t.events)).toContain('ping')
    expect(t.events.at(-1)).toMatchObject({ type: 'done', debug_url: expect.any(String), execute_id: expect.any(String) })
    expect(t.clock).toEqual(['begin', 'firstDelta', 'end'])
  })

  it('a workflow interrupt, then its resume', async () => {
    const t = await both(async ({ coze, drain }) => {
      const first = await drain(streamWorkflow(coze, { workflow_id: 'wf-interrupt', parameters: {} }, limits))
      const it = first.events.find((e) => e.type === 'interrupt') as Extract<WorkflowEvent, { type: 'interrupt' }>
      const second = await drain(resumeWorkflow(coze, { workflow_id: 'wf-interrupt', event_id: it.event_id, resume_data: 'Ada', interrupt_type: it.interrupt_type }, limits))
      return { events: [...first.events, ...second.events], error: first.error ?? second.error }
    })
    expect(types(t.events)).toContain('interrupt')
    expect(t.events.at(-1)).toMatchObject({ type: 'done' })
    expect(t.upstream).toEqual([{ endpoint: 'workflow_stream', outcome: 'ok', cozeCode: undefined }, { endpoint: 'workflow_resume', outcome: 'ok', cozeCode: undefined }])
  })

  it('an OAuth app with session isolation: the token of the user, from the same token provider', async () => {
    const t = await both(({ coze, drain }) => drain(streamChat(coze, turn('bot-echo'), { ...limits, user: 'contract-user' })), {
      specs: [{ kind: 'oauth', appId: APP_ID, keyId: KEY_ID, privateKey: keys.privateKey, source: 'COZE_OAUTH_APP_ID' }],
      sessionIsolation: true,
      paths: ['/v3/chat']
    })
    expect((t.requests[0] as { headers: string[] }).headers.join(' ')).toMatch(/authorization Bearer czs_/)
    expect(emu.oauth.issued.at(-1)?.session_name).toBe('contract-user')
  })

  it('a compressed stream, a stream split inside lines and characters, CRLF, a cut last line', async () => {
    const c = await both(({ coze, drain }) => drain(streamChat(coze, turn('bot-echo'), limits)), { base: oddUrl, specs: [{ kind: 'pat', token: 'tok', source: 'COZE_API_TOKEN' }] })
    expect(c.events).toEqual([
      { type: 'chat_created', conversation_id: '7500000000000000001', chat_id: '7500000000000000003', bot_id: undefined },
      { type: 'message_delta', content: '压缩的' },
      { type: 'chat_completed', conversation_id: '7500000000000000001', chat_id: '7500000000000000003', usage: { token_count: 3, output_count: 0, input_count: 0 } }
    ])
    const w = await both(({ coze, drain }) => drain(streamWorkflow(coze, { workflow_id: 'wf', parameters: {} }, limits)), { base: oddUrl, specs: [{ kind: 'pat', token: 'tok', source: 'COZE_API_TOKEN' }] })
    expect(w.events).toMatchObject([
      { type: 'workflow_message', content: 'héllo 世界', node_is_finish: false },
      { type: 'workflow_message', content: ' again', node_is_finish: true },
      { type: 'done', execute_id: '7500000000000000009' }
    ])
    expect(w.error).toBeUndefined()
  })

  describe('errors', () => {
    it('a Coze error code on HTTP 200 (a JSON body instead of SSE), chat and workflow', async () => {
      const c = await both(({ coze, drain }) => drain(streamChat(coze, turn('fault-4015'), limits)))
      expect(errorOf(c)).toMatchObject({ statusCode: 404, cozeCode: 4015, logid: expect.any(String) })
      const w = await both(({ coze, drain }) => drain(streamWorkflow(coze, { workflow_id: 'no-such-workflow', parameters: {} }, limits)))
      expect(errorOf(w)).toMatchObject({ statusCode: 404, cozeCode: 4200 })
      const f = await both(({ coze, drain }) => drain(streamChatflow(coze, { workflow_id: 'fault-4000', additional_messages: [{ role: 'user' as RoleType, content: 'hi', content_type: 'text' }] }, limits)))
      expect(errorOf(f)).toMatchObject({ statusCode: 400, cozeCode: 4000 })
    })

    it('a rate limit on HTTP 200 (4013) cools the credential down, an auth error (4100) disables it', async () => {
      const limited = await both(({ coze, drain }) => drain(streamChat(coze, turn('fault-4013'), limits)))
      expect(errorOf(limited)).toMatchObject({ statusCode: 429, code: 'UPSTREAM_RATE_LIMITED' })
      expect(limited.pool).toEqual([{ state: 'cooldown', disabled_reason: null }])
      const refused = await both(({ coze, drain }) => drain(streamChat(coze, turn('fault-4100'), limits)))
      expect(errorOf(refused)).toMatchObject({ statusCode: 502, code: 'UPSTREAM_AUTH', message: expect.stringContaining('Coze rejected the gateway\'s API token COZE_API_TOKEN') })
      expect(refused.pool).toEqual([{ state: 'disabled', disabled_reason: 'Coze code 4100' }])
    })

    it('HTTP error statuses, with the logid of x-tt-logid and Coze\'s Retry-After', async () => {
      for (const status of [400, 401, 404, 500, 502, 503]) {
        const t = await both(({ coze, drain }) => drain(streamChat(coze, turn(`fault-http-${status}`), limits)))
        expect(errorOf(t).logid).toMatch(/^\d{14}[0-9A-F]{20}$/)
      }
      const limited = await both(({ coze, drain }) => drain(streamChat(coze, turn('bot-echo'), limits)), {
        setup: async () => { emu.faults.inject({ kind: 'http_status', status: 429, retryAfter: 120 }, { path: '/v3/chat', times: 1 }) }
      })
      expect(errorOf(limited)).toMatchObject({ statusCode: 429, code: 'UPSTREAM_RATE_LIMITED' })
      expect(limited.pool).toEqual([{ state: 'cooldown', disabled_reason: null }])
      const w = await both(({ coze, drain }) => drain(streamWorkflow(coze, { workflow_id: 'fault-http-503', parameters: {} }, limits)))
      expect(errorOf(w)).toMatchObject({ statusCode: 502, code: 'UPSTREAM_ERROR' })
    })

    it('event:error mid-stream, a failed chat, a malformed event', async () => {
      const e = await both(({ coze, drain }) => drain(streamChat(coze, turn('fault-stream-error'), limits)))
      expect(types(e.events)).toEqual(['chat_created', 'message_delta', 'message_delta'])
      expect(errorOf(e)).toMatchObject({ statusCode: 502, cozeCode: 5000 })
      const f = await both(({ coze, drain }) => drain(streamChat(coze, turn('fault-chat-failed'), limits)))
      expect(errorOf(f)).toMatchObject({ cozeCode: 5000 })
      const m = await both(({ coze, drain }) => drain(streamChat(coze, turn('fault-malformed'), limits)))
      expect(errorOf(m)).toMatchObject({ statusCode: 502, code: 'UPSTREAM_ERROR', message: expect.stringContaining('Could not parse message into JSON') })
      const w = await both(({ coze, drain }) => drain(streamWorkflow(coze, { workflow_id: 'fault-stream-error', parameters: {} }, limits)))
      expect(errorOf(w)).toMatchObject({ cozeCode: 5000 })
    })

    it('a truncated stream, a reset connection, an unreachable Coze', async () => {
      const t = await both(({ coze, drain }) => drain(streamChat(coze, turn('fault-truncate'), limits)))
      expect(errorOf(t)).toMatchObject({ code: 'UPSTREAM_TRUNCATED' })
      const w = await both(({ coze, drain }) => drain(streamWorkflow(coze, { workflow_id: 'fault-truncate', parameters: {} }, limits)))
      expect(errorOf(w)).toMatchObject({ code: 'UPSTREAM_TRUNCATED' })
      const r = await both(({ coze, drain }) => drain(streamChat(coze, turn('fault-reset'), limits)))
      expect(errorOf(r)).toMatchObject({ statusCode: 503, code: 'UPSTREAM_UNAVAILABLE' })
      const d = await both(({ coze, drain }) => drain(streamChat(coze, turn('bot-echo'), limits)), { base: dead })
      expect(errorOf(d)).toMatchObject({ statusCode: 503, code: 'UPSTREAM_UNAVAILABLE', message: expect.stringContaining('ECONNREFUSED') })
      expect(d.upstream).toEqual([{ endpoint: 'chat', outcome: 'UPSTREAM_UNAVAILABLE', cozeCode: undefined }])
    })

    it('the connect timeout and the idle timeout', async () => {
      const c = await both(({ coze, drain }) => drain(streamChat(coze, turn('fault-hang'), { connectTimeoutMs: 300, idleTimeoutMs: 5000 })))
      expect(errorOf(c)).toMatchObject({ statusCode: 504, code: 'UPSTREAM_TIMEOUT' })
      const i = await both(({ coze, drain }) => drain(streamChat(coze, turn('bot-echo'), { connectTimeoutMs: 5000, idleTimeoutMs: 300 })), {
        setup: async () => { emu.faults.inject({ kind: 'latency', deltaMs: 1500 }, { path: '/v3/chat', times: 1 }) }
      })
      expect(errorOf(i)).toMatchObject({ statusCode: 504, code: 'UPSTREAM_TIMEOUT', message: expect.stringContaining('300') })
      expect(types(i.events)).toEqual(['chat_created'])
      expect((i.requests[0] as { aborted: boolean }).aborted).toBe(true)
    })
  })

  it('a client that leaves mid-stream: the Coze request is aborted and the chat cancelled, on the same credential', async () => {
    const t = await both(async ({ coze, drain }) => {
      const ac = new AbortController()
      return await drain(streamChat(coze, turn('bot-slow-100', 'one two three four five'), { ...limits, signal: ac.signal }), (ev) => { if (ev.type === 'message_delta') ac.abort() })
    }, { settle: (reqs) => reqs.some((r) => r.path === '/v3/chat/cancel' && r.finished) })
    expect(t.error).toBeInstanceOf(ClientAbortError)
    expect(t.requests).toMatchObject([{ url: '/v3/chat', aborted: true }, { url: '/v3/chat/cancel', aborted: false }])
    // the cancel is best effort, not a call of the request's (not counted)
    expect(t.upstream).toEqual([{ endpoint: 'chat', outcome: 'aborted', cozeCode: undefined }])
  })

  it('a reader that stops early (its client left) aborts the Coze request', async () => {
    const t = await both(async ({ coze }) => {
      const events: unknown[] = []
      for await (const ev of streamWorkflow(coze, { workflow_id: 'wf-echo', parameters: {} }, limits)) { events.push(ev); break }
      return { events, error: undefined }
    })
    expect(t.events).toHaveLength(1)
    expect(t.upstream).toEqual([{ endpoint: 'workflow_stream', outcome: 'aborted', cozeCode: undefined }])
  })
})
