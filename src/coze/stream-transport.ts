// The lean transport of the hot path (COZE_TRANSPORT=undici, the default): the chat stream,
// its tool-output continuation, the chatflow and the workflow streams go to Coze through
// undici's dispatcher directly, parsed by ./sse-parser.ts, instead of through the SDK's
// request pipeline (axios config merging, AxiosHeaders, the SDK's option building and
// generator chain), which cost more CPU per chat than a whole minimal proxy (BENCHMARKS.md
// "Profiling"). Everything else, authentication included, stays on the SDK.
//
// It speaks what the SDK speaks, checked against the SDK in test/coze/transport-contract.test.ts:
// - the same request: method, URL (query string built the SDK's way), JSON body, and the
//   same headers in the same order (axios's accept and content-type, the call's bearer
//   token, the SDK's own user agent headers, asked of the SDK once, the accept-encoding of
//   axios's http adapter);
// - the same outcome for every answer, as the SDK would have thrown or yielded it: a non-2xx
//   status → the SDK's APIError for that status with Coze's headers (x-tt-logid,
//   Retry-After); a network failure → the SDK's APIError without a status; a body cut or
//   aborted mid-way → the iteration ends silently; an HTTP 200 JSON error body → the SDK's
//   `error` event (the parser does that, as the SDK's does).
// Per call: one undici request, one parser, one small queue; no AbortSignal (the stream
// guard calls abort()), no Readable, no async generator.
// With COZE_HTTP2=true the calls share HTTP/2 connections (./h2-dispatcher.ts): a quiet stream
// then costs an HTTP/2 stream, not a socket and its file descriptor.
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import type { Transform } from 'node:stream'
import type { APIError, CozeAPI } from '@coze/api'
import { sdk } from './sdk.js'
import type { AxiosResponseHeaders } from 'axios'
import type { Dispatcher } from 'undici'
import type { StreamDispatcher } from './h2-dispatcher.js'
import { CozeSseParser, type RawEvent } from './sse-parser.js'

export type { RawEvent } from './sse-parser.js'

/** What a call needs from the stream guard: its logid, and a way to stop it. */
export interface StreamHooks {
  onLogid: (logid: string) => void
  /** Gets the call's abort, called on a timeout, the client's leaving, or an early exit. */
  onAbort: (abort: () => void) => void
}

export interface StreamTransport {
  /** POST `path` (after the base URL) with a JSON `body`; yields the SSE events, mapped by `map`. */
  stream<T = RawEvent> (path: string, body: unknown, token: string, hooks: StreamHooks, map?: (ev: RawEvent) => T): AsyncIterableIterator<T>
  close (): Promise<void>
  /** the streams go over HTTP/2 (COZE_HTTP2=true, no proxy) */
  readonly http2: boolean
}

const PROXY_ENV = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']
// axios's defaults for a JSON POST (headers.common.Accept, transformRequest's content-type),
// and what axios's http adapter and the SDK's undici adapter ask for.
const ACCEPT = 'application/json, text/plain, */*'
const ACCEPT_ENCODING = 'gzip, deflate, br'
/** Queued events past which the socket is paused until the reader catches up. */
const HIGH_WATER = 64

/**
 * @param api the SDK client (built on the first call): its user agent headers are taken from
 *   it, once, so the two transports cannot drift apart; its error classes are this
 *   transport's too, so both map alike (./errors.ts)
 * @param opts.env a proxy in HTTP(S)_PROXY is honoured (undici's EnvHttpProxyAgent, with NO_PROXY)
 * @param opts.http2 COZE_HTTP2: HTTP/2 (ALPN h2 over TLS, h2c with prior knowledge over http:);
 *   through a proxy, HTTP/1.1 as before
 */
export function createStreamTransport (baseURL: string, api: () => Promise<CozeAPI>, opts: { keepAliveTimeoutMs?: number, env?: NodeJS.ProcessEnv, http2?: boolean } = {}): StreamTransport {
  const env = opts.env ?? process.env
  const keepAliveTimeout = opts.keepAliveTimeoutMs ?? 10_000
  const base = new URL(baseURL)
  const proxied = PROXY_ENV.some((k) => env[k])
  const h2 = opts.http2 === true && !proxied
  // undici is loaded with the first call, not at start (cold start)
  let dispatcher: StreamDispatcher | undefined
  const load = async (): Promise<StreamDispatcher> => {
    const { Agent, EnvHttpProxyAgent } = await import('../undici.js')
    dispatcher = proxied
      ? new EnvHttpProxyAgent({ keepAliveTimeout })
      : h2 ? (await import('./h2-dispatcher.js')).createH2Dispatcher(base, keepAliveTimeout) : new Agent({ keepAliveTimeout })
    return dispatcher
  }
  // undici holds a non-idempotent request (a POST) back while another is in flight on its
  // connection: over HTTP/2 that would be one connection per stream. Marked idempotent, the
  // calls share connections; undici retries nothing on its own either way.
  const idempotent = h2
  const origin = base.origin
  const prefix = base.pathname.replace(/\/+$/, '')
  let ready: Promise<[StreamDispatcher, string[]]> | undefined
  // The headers of the last token: one array per token, not one per call.
  let lastToken: string | undefined
  let lastHeaders: string[] = []

  const headersFor = (token: string, sdk: string[]): string[] => {
    if (token !== lastToken) {
      lastToken = token
      lastHeaders = ['accept', ACCEPT, 'content-type', 'application/json', 'authorization', `Bearer ${token}`, ...sdk, 'accept-encoding', ACCEPT_ENCODING]
    }
    return lastHeaders
  }

  return {
    stream<T> (path: string, body: unknown, token: string, hooks: StreamHooks, map?: (ev: RawEvent) => T) {
      const call = new StreamCall<T>(hooks.onLogid, map)
      hooks.onAbort(call.abort)
      const payload = JSON.stringify(body)
      const send = ([dispatcher, sdk]: [StreamDispatcher, string[]]) => {
        if (call.settled) return
        dispatcher.dispatch({
          origin,
          path: requestPath(prefix + path),
          method: 'POST',
          headers: headersFor(token, sdk),
          body: payload,
          ...(idempotent ? { idempotent } : {}),
          // the stream guard bounds the wait for the first event and the silences between events
          headersTimeout: 0,
          bodyTimeout: 0
        }, call)
      }
      ready ??= Promise.all([load(), api().then(userAgentHeaders)])
      ready.then(send, (err: unknown) => call.fail(err))
      return call
    },
    close: async () => { await dispatcher?.close() },
    http2: h2
  }
}

/** The SDK's own client headers (User-Agent, X-Coze-Client-User-Agent), as it builds them for every call. */
async function userAgentHeaders (api: CozeAPI): Promise<string[]> {
  const build = (api as unknown as { buildOptions (method: string, body?: unknown, options?: object): Promise<{ headers?: Record<string, unknown> }> }).buildOptions
  const { headers = {} } = await build.call(api, 'POST', undefined, {})
  const out: string[] = []
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() !== 'authorization' && typeof v === 'string') out.push(k.toLowerCase(), v)
  }
  return out
}

/** The path as it goes on the wire: the SDK's string (its query unencoded), or, for characters HTTP cannot carry raw, what the URL parser would send. */
function requestPath (p: string): string {
  return /^[\x21-\x7e]*$/.test(p) ? p : (() => { const u = new URL(p, 'http://x'); return u.pathname + u.search })()
}

function decompressor (encoding: unknown): Transform | undefined {
  switch (typeof encoding === 'string' ? encoding.toLowerCase() : undefined) {
    case 'gzip': case 'x-gzip': return createGunzip()
    case 'deflate': return createInflate()
    case 'br': return createBrotliDecompress()
    default: return undefined
  }
}

type Waiter<T> = { resolve: (r: IteratorResult<T>) => void, reject: (e: unknown) => void }

/**
 * One streaming call: undici's dispatch handler on one side, an async iterator of events on
 * the other, a queue in between (the socket pauses when the reader falls behind).
 */
class StreamCall<T> implements Dispatcher.DispatchHandler, AsyncIterableIterator<T> {
  settled = false
  private controller: Dispatcher.DispatchController | undefined
  private aborted = false
  private started = false
  /** undici is done with the response (ended or failed) */
  private responseDone = false
  private ended = false
  private error: unknown
  private queue: RawEvent[] = []
  private head = 0
  private waiter: Waiter<T> | undefined
  private readonly parser = new CozeSseParser()
  private inflate: Transform | undefined

  constructor (private readonly onLogid: (logid: string) => void, private readonly map: ((ev: RawEvent) => T) | undefined) {}

  [Symbol.asyncIterator] (): this { return this }

  next (): Promise<IteratorResult<T>> {
    if (this.head < this.queue.length) {
      const ev = this.queue[this.head++]!
      if (this.head === this.queue.length) { this.queue.length = 0; this.head = 0 }
      if (this.controller?.paused && this.queue.length - this.head < HIGH_WATER / 2) this.controller.resume()
      if (!this.map) return Promise.resolve({ value: ev as T, done: false })
      try {
        return Promise.resolve({ value: this.map(ev), done: false })
      } catch (err) {
        return Promise.reject(err)
      }
    }
    if (this.error !== undefined) return Promise.reject(this.error)
    if (this.ended) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject } })
  }

  return (): Promise<IteratorResult<T>> {
    this.abort()
    this.queue.length = 0
    this.ended = true
    return Promise.resolve({ value: undefined, done: true })
  }

  /** Stops the call (idempotent); the reader then ends. */
  readonly abort = (): void => {
    if (this.aborted || this.responseDone) return
    this.aborted = true
    this.controller?.abort(new (sdk().APIUserAbortError)('Request was aborted.'))
  }

  /** The call failed before its response (its headers), as the SDK would have thrown it. */
  fail (err: unknown): void {
    if (this.settled) return
    this.settled = true
    this.error = err
    this.wake()
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.aborted) controller.abort(new (sdk().APIUserAbortError)('Request was aborted.'))
  }

  onResponseStart (_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return // 1xx: informational
    this.started = true
    const logid = headers['x-tt-logid']
    if (typeof logid === 'string') this.onLogid(logid)
    if (statusCode >= 300) {
      // The SDK never reads the body of a failed stream call: it throws by status.
      this.fail(sdk().APIError.generate(statusCode, {} as Parameters<typeof APIError.generate>[1], `Request failed with status code ${statusCode}`, headers as unknown as AxiosResponseHeaders))
      return
    }
    const inflate = decompressor(headers['content-encoding'])
    if (inflate) {
      this.inflate = inflate
      inflate.on('data', (c: Buffer) => this.parse(c))
      inflate.once('end', () => this.finish())
      // a corrupt body ends the stream, as a cut one does
      inflate.once('error', () => this.finish(true))
    }
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return
    if (this.inflate) this.inflate.write(chunk)
    else this.parse(chunk)
    if (this.queue.length - this.head >= HIGH_WATER && !controller.paused) controller.pause()
  }

  onResponseEnd (): void {
    this.responseDone = true
    if (this.inflate) this.inflate.end()
    else this.finish()
  }

  onResponseError (_c: Dispatcher.DispatchController, err: Error): void {
    this.responseDone = true
    this.inflate?.destroy()
    if (this.started) {
      // Cut or aborted mid-body: the SDK's iteration ends without an error (the stream guard tells why).
      this.finish(true)
      return
    }
    this.fail(this.aborted ? new (sdk().APIUserAbortError)('Request was aborted.') : networkError(err as SystemError))
  }

  private parse (chunk: Buffer): void {
    if (this.settled) return
    this.parser.feed(chunk, this.queue)
    if (this.head < this.queue.length) this.wake()
  }

  /** The body ended (`cut`: broken off, its last unfinished line dropped, as the SDK does). */
  private finish (cut = false): void {
    if (this.settled) return
    const rest = cut ? undefined : this.parser.end()
    if (rest) this.queue.push(rest)
    this.settled = true
    this.ended = true
    this.wake()
  }

  private wake (): void {
    const w = this.waiter
    if (!w) return
    this.waiter = undefined
    this.next().then(w.resolve, w.reject)
  }
}

/**
 * A failure before any response, as the SDK makes it of axios's error (its handleError): a
 * TimeoutError for a system timeout, else an APIError without a response.
 */
type SystemError = Error & { code?: string, cause?: Error & { code?: string } }

function networkError (err: SystemError): APIError {
  // undici reports system errors either directly or as the cause of its own error
  const sys = err.code && !err.code.startsWith('UND_ERR') ? err : err.cause?.code ? err.cause : err
  if ((sys.code === 'ECONNABORTED' && sys.message.includes('timeout')) || sys.code === 'ETIMEDOUT') {
    return new (sdk().TimeoutError)(408, undefined, `Request timed out: ${sys.message}`, undefined)
  }
  return sdk().APIError.generate(500, undefined, sys.message, undefined)
}
