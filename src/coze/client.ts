// Builds the one CozeAPI client the gateway uses, and the one wrapper every non-stream
// call goes through (error mapping, logid capture, timeout).
// - streaming calls (the hot path) through undici (./undici-adapter.ts: ~10 % less gateway
//   CPU per chat and less memory per open stream than axios's http adapter, measured side
//   by side in BENCHMARKS.md "Profiling"); every other call through axios's Node http
//   adapter with keep-alive agents (the SDK's default for streams is global fetch, which
//   costs ~2x the CPU per request);
// - a response hook that hands each call's headers (x-tt-logid) to the caller, because
//   the SDK does not expose them for streams;
// - a request hook that sends each call with the token of its own credential (the pool in
//   ./credentials.ts): the SDK's `token` option takes no arguments, so it cannot know which
//   credential or end user a call is for. It only serves calls made without cozeCall or a
//   relay (tests, benchmarks).
import http from 'node:http'
import https from 'node:https'
import type { Readable } from 'node:stream'
import axios, { type AxiosAdapter, type AxiosResponse } from 'axios'
import { CozeAPI, type RequestOptions } from '@coze/api'
import { createUndiciAdapter } from './undici-adapter.js'
import type { GatewayError } from '../errors.js'
import { toGatewayError, type CozeResource } from './errors.js'
import { errors } from '../errors.js'
import { CredentialPool, type Lease, type Route } from './credentials.js'

export interface CozeClientOptions {
  baseURL: string
  /** One personal access token (tests, benchmarks), when no `credentials` pool is given */
  token?: string
  credentials?: CredentialPool
  requestTimeoutMs: number
  /** Replaces the transport of streaming calls (the benchmark injects axios's http adapter for its before/after). */
  streamAdapter?: AxiosAdapter | undefined
}

export interface CozeClient {
  api: CozeAPI
  credentials: CredentialPool
  /** Per-call options: abort signal, timeout (non-stream), logid capture, the call's token. */
  options (o?: RequestCallOptions): RequestOptions
  /** COZE_REQUEST_TIMEOUT_MS */
  requestTimeoutMs: number
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
  const httpAgent = new http.Agent({ keepAlive: true, keepAliveMsecs: 10_000 })
  const httpsAgent = new https.Agent({ keepAlive: true, keepAliveMsecs: 10_000 })
  const instance = axios.create()
  const streams = createUndiciAdapter(axios.getAdapter('http'))
  const report = (res: AxiosResponse | undefined) => {
    const config = res?.config as Pick<CallOptions, 'onLogid' | 'onHeaders'> | undefined
    const logid = res?.headers?.['x-tt-logid']
    if (config?.onLogid && typeof logid === 'string') config.onLogid(logid)
    if (config?.onHeaders && res) config.onHeaders(res.headers as Record<string, unknown>)
  }
  instance.interceptors.request.use((config) => {
    const token = (config as { cozeToken?: string }).cozeToken
    if (token !== undefined) config.headers.set('authorization', `Bearer ${token}`)
    return config
  }, undefined, { synchronous: true })
  instance.interceptors.response.use(
    (res) => { report(res); return res },
    (err) => { report(err?.response); return Promise.reject(err) }
  )
  const api = new CozeAPI({
    baseURL: opts.baseURL,
    token: () => credentials.fallbackToken(),
    axiosInstance: instance,
    axiosOptions: {
      adapter: opts.streamAdapter ?? streams.adapter,
      httpAgent,
      httpsAgent,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      maxRedirects: 0
    }
  })
  return {
    api,
    credentials,
    requestTimeoutMs: opts.requestTimeoutMs,
    options (o: RequestCallOptions = {}) {
      const r: Record<string, unknown> = {}
      if (o.token !== undefined) r.cozeToken = o.token
      if (o.signal) r.signal = o.signal
      if (!o.stream) r.timeout = o.timeoutMs ?? opts.requestTimeoutMs
      if (o.onLogid) r.onLogid = o.onLogid
      if (o.onHeaders) r.onHeaders = o.onHeaders
      return r as RequestOptions
    },
    close () {
      httpAgent.destroy()
      httpsAgent.destroy()
      void streams.close()
    }
  }
}

/**
 * One non-stream SDK call: Coze's errors become GatewayErrors (with the logid), never escape
 * raw. A call refused for its credential (rate limit, quota, auth) is tried once more on a
 * fresh OAuth token or another credential of the pool: Coze did nothing with it.
 */
export async function cozeCall<T> (coze: CozeClient, o: CallOptions, fn: (opts: RequestOptions) => Promise<T>, resource?: CozeResource): Promise<T> {
  let lease = o.lease ?? coze.credentials.lease(o)
  for (;;) {
    let err: GatewayError
    try {
      const res = await fn(coze.options({ ...o, token: await lease.token() }))
      lease.report()
      o.onCredential?.(lease.credential.index)
      return res
    } catch (e) {
      err = toGatewayError(e, resource)
    }
    lease.report(err)
    const next = o.once ? undefined : coze.credentials.retry(lease)
    if (!next) throw coze.credentials.explain(lease, err)
    lease = next
  }
}

/**
 * A call that streams `body` up to Coze (uploads, transcriptions). No timeout while the body
 * is being sent (a large file on a slow link takes long; the client's side is bounded by
 * UPLOAD_TIMEOUT_MS); once it is sent, Coze must answer within COZE_REQUEST_TIMEOUT_MS (504).
 */
export async function cozeUpload<T> (coze: CozeClient, body: Readable, o: CallOptions, fn: (opts: RequestOptions) => Promise<T>): Promise<T> {
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
