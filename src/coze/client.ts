// The one Coze client the gateway uses, and the one wrapper every non-stream call goes
// through (error mapping, logid capture, timeout, the credential pool's retries).
// - the hot path's streams (chat, tool outputs, chatflow, workflow stream and resume) on the
//   lean transport (./stream-transport.ts, COZE_TRANSPORT=undici, the default), or through
//   the SDK (COZE_TRANSPORT=sdk); every other call through the SDK (./sdk-client.ts), which
//   is loaded and built on the first Coze call, not at start;
// - every call reported to the client's recorder (endpoint, outcome, Coze code) and timed
//   on the caller's clock (the time a request spent waiting on Coze);
// - each call is sent with the token of its own credential (the pool in ./credentials.ts).
import type { Readable } from 'node:stream'
import type { AxiosAdapter } from 'axios'
import type { CozeAPI, RequestOptions } from '@coze/api'
import { loadSdk } from './sdk.js'
import type { SdkClient } from './sdk-client.js'
import { createStreamTransport, type StreamTransport } from './stream-transport.js'
import { ClientAbortError, type GatewayError } from '../errors.js'
import { endpointOf } from './endpoints.js'
import { toGatewayError, type CozeResource } from './errors.js'
import { errors } from '../errors.js'
import { CredentialPool, type Lease, type Route } from './credentials.js'

export interface CozeClientOptions {
  baseURL: string
  /** One personal access token (tests, benchmarks), when no `credentials` pool is given */
  token?: string
  credentials?: CredentialPool
  requestTimeoutMs: number
  /** COZE_TRANSPORT: how the hot path's streams reach Coze (default undici: the lean transport) */
  transport?: CozeTransport | undefined
  /** COZE_HTTP2: the lean transport's streams share HTTP/2 connections (h2 over TLS, h2c over http:) */
  http2?: boolean | undefined
  /** Replaces the transport of the SDK's streaming calls (the benchmark injects axios's http adapter for its before/after). */
  streamAdapter?: AxiosAdapter | undefined
}

/** COZE_TRANSPORT: `undici`, the lean transport of the hot path's streams, or `sdk`, every call through the SDK. */
export type CozeTransport = 'undici' | 'sdk'

/** Where the client reports each Coze call it made (the gateway's metrics, the upstream state). */
export interface UpstreamRecorder {
  /** `outcome`: ok, aborted (the caller gave up), or the mapped gateway error code, which is `err`'s. */
  upstream (endpoint: string, outcome: string, cozeCode: number | undefined, err?: GatewayError): void
}

/** A request's clock of the time it spent waiting on Coze (Server-Timing, the overhead metric). */
export interface UpstreamClock {
  begin (): void
  end (): void
  /** A stream's first delta arrived from Coze. */
  firstDelta (): void
}

export interface CozeClient {
  /** The SDK client once built: by the first `sdk()`, i.e. the first Coze call (the SDK is not loaded at start). */
  api: CozeAPI | undefined
  /** Builds the SDK client on the first call (loading the SDK and axios), then returns it. */
  sdk (): Promise<CozeAPI>
  credentials: CredentialPool
  transport: CozeTransport
  /** The lean transport speaks HTTP/2 (COZE_HTTP2=true with COZE_TRANSPORT=undici, no HTTP(S)_PROXY). */
  http2: boolean
  /** The lean transport of the hot path's streams; undefined with COZE_TRANSPORT=sdk. */
  streams: StreamTransport | undefined
  /** Per-call options: abort signal, timeout (non-stream), logid capture, the call's token; `onPath` gets the request's path. */
  options (o?: RequestCallOptions, onPath?: (path: string) => void): RequestOptions
  /** COZE_REQUEST_TIMEOUT_MS */
  requestTimeoutMs: number
  /** Set by the app: every call is reported here. */
  recorder: UpstreamRecorder | undefined
  close (): void
}

export interface CallOptions extends Route {
  signal?: AbortSignal | undefined
  /** Streams are bounded by the chat pipeline's own timers; other calls get COZE_REQUEST_TIMEOUT_MS. */
  stream?: boolean
  onLogid?: ((logid: string) => void) | undefined
  /** The response headers, for answers that are not JSON (audio). */
  onHeaders?: ((headers: Record<string, unknown>) => void) | undefined
  /** Overrides COZE_REQUEST_TIMEOUT_MS (sync workflow runs can take minutes). */
  timeoutMs?: number | undefined
  /** The calling request's clock: the call is timed on it. */
  clock?: UpstreamClock | undefined
  /** The credential to use (the caller's choice, e.g. to retry on another one); default: the route's. */
  lease?: Lease | undefined
  /** Told which credential answered (to keep a new conversation on it). */
  onCredential?: ((index: number) => void) | undefined
  /** The request body cannot be sent twice (a stream): no retry on another credential. */
  once?: boolean | undefined
}

/** What `options()` turns into SDK request options: the call's own token, resolved from its lease. */
export interface RequestCallOptions extends CallOptions {
  token?: string | undefined
}

export function createCozeClient (opts: CozeClientOptions): CozeClient {
  const credentials = opts.credentials ?? new CredentialPool(opts.token ? [{ kind: 'pat', token: opts.token, source: 'COZE_API_TOKEN' }] : [], { baseURL: opts.baseURL })
  let built: Promise<SdkClient> | undefined
  let sdkClient: SdkClient | undefined
  const transport = opts.transport ?? 'undici'
  const client: CozeClient = {
    api: undefined,
    sdk () {
      built ??= loadSdk()
        .then(() => import('./sdk-client.js'))
        .then((m) => {
          sdkClient = m.createSdkClient({ baseURL: opts.baseURL, token: () => credentials.fallbackToken(), streamAdapter: opts.streamAdapter })
          client.api = sdkClient.api
          return sdkClient
        })
      return built.then((c) => c.api)
    },
    credentials,
    transport,
    http2: false,
    streams: undefined,
    requestTimeoutMs: opts.requestTimeoutMs,
    recorder: undefined,
    options (o: RequestCallOptions = {}, onPath?: (path: string) => void) {
      const r: Record<string, unknown> = {}
      if (o.token !== undefined) r.cozeToken = o.token
      if (o.signal) r.signal = o.signal
      if (!o.stream) r.timeout = o.timeoutMs ?? opts.requestTimeoutMs
      if (o.onLogid) r.onLogid = o.onLogid
      if (o.onHeaders) r.onHeaders = o.onHeaders
      if (onPath) r.onPath = onPath
      return r as RequestOptions
    },
    close () {
      sdkClient?.close()
      void client.streams?.close()
    }
  }
  if (transport === 'undici') {
    client.streams = createStreamTransport(opts.baseURL, () => client.sdk(), { http2: opts.http2 === true })
    client.http2 = client.streams.http2
  }
  return client
}

/**
 * One non-stream SDK call: Coze's errors become GatewayErrors (with the logid), never escape
 * raw. A call refused for its credential (rate limit, quota, auth) is tried once more on a
 * fresh OAuth token or another credential of the pool: Coze did nothing with it. Each try is
 * reported (its endpoint named from its path); the whole is timed on the caller's clock.
 */
export async function cozeCall<T> (coze: CozeClient, o: CallOptions, fn: (opts: RequestOptions, api: CozeAPI) => Promise<T>, resource?: CozeResource): Promise<T> {
  let lease = o.lease ?? coze.credentials.lease(o)
  let path: string | undefined
  const onPath = coze.recorder ? (p: string) => { path = p } : undefined
  o.clock?.begin()
  try {
    const api = coze.api ?? await coze.sdk()
    for (;;) {
      let err: GatewayError
      try {
        const res = await fn(coze.options({ ...o, token: await lease.token() }, onPath), api)
        lease.report()
        reportUpstream(coze, endpointOf(path))
        o.onCredential?.(lease.credential.index)
        return res
      } catch (e) {
        err = toGatewayError(e, resource)
        reportUpstream(coze, endpointOf(path), o.signal?.aborted ? new ClientAbortError() : err)
      }
      lease.report(err)
      const next = o.once ? undefined : coze.credentials.retry(lease)
      if (!next) throw coze.credentials.explain(lease, err)
      lease = next
    }
  } finally {
    o.clock?.end()
  }
}

/**
 * A call that streams `body` up to Coze (uploads, transcriptions). No timeout while the body
 * is being sent (a large file on a slow link takes long; the client's side is bounded by
 * UPLOAD_TIMEOUT_MS); once it is sent, Coze must answer within COZE_REQUEST_TIMEOUT_MS (504).
 */
export async function cozeUpload<T> (coze: CozeClient, body: Readable, o: CallOptions, fn: (opts: RequestOptions, api: CozeAPI) => Promise<T>): Promise<T> {
  const ms = o.timeoutMs ?? coze.requestTimeoutMs
  const ac = new AbortController()
  const onAbort = () => ac.abort()
  if (o.signal?.aborted) ac.abort()
  o.signal?.addEventListener('abort', onAbort, { once: true })
  let timedOut = false
  let timer: NodeJS.Timeout | undefined
  body.once('end', () => { timer = setTimeout(() => { timedOut = true; ac.abort() }, ms) })
  try {
    // once: a streamed body cannot be sent again, on another credential.
    return await cozeCall(coze, { ...o, stream: true, once: true, signal: ac.signal }, fn)
  } catch (err) {
    if (timedOut) throw errors.uploadTimeout(ms)
    throw err
  } finally {
    clearTimeout(timer)
    o.signal?.removeEventListener('abort', onAbort)
  }
}

/** Reports one finished Coze call: `err` undefined when it succeeded. */
export function reportUpstream (coze: CozeClient, endpoint: string, err?: unknown): void {
  const r = coze.recorder
  if (!r) return
  if (err === undefined) return r.upstream(endpoint, 'ok', undefined)
  if (err instanceof ClientAbortError) return r.upstream(endpoint, 'aborted', undefined)
  const e = toGatewayError(err)
  r.upstream(endpoint, e.code, e.cozeCode, e)
}
