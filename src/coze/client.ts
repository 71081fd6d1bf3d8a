// Builds the one CozeAPI client the gateway uses, and the one wrapper every non-stream
// call goes through (error mapping, logid capture, timeout).
// - streaming calls (the hot path) through undici (./undici-adapter.ts: ~10 % less gateway
//   CPU per chat and less memory per open stream than axios's http adapter, measured side
//   by side in BENCHMARKS.md "Profiling"); every other call through axios's Node http
//   adapter with keep-alive agents (the SDK's default for streams is global fetch, which
//   costs ~2x the CPU per request);
// - a response hook that hands each call's headers (x-tt-logid) to the caller, because
//   the SDK does not expose them for streams.
import http from 'node:http'
import https from 'node:https'
import type { Readable } from 'node:stream'
import axios, { type AxiosAdapter, type AxiosResponse } from 'axios'
import { CozeAPI, type RequestOptions } from '@coze/api'
import { createUndiciAdapter } from './undici-adapter.js'
import { toGatewayError, type CozeResource } from './errors.js'
import { errors } from '../errors.js'

export interface CozeClientOptions {
  baseURL: string
  token: string
  requestTimeoutMs: number
  /** Replaces the transport of streaming calls (the benchmark injects axios's http adapter for its before/after). */
  streamAdapter?: AxiosAdapter | undefined
}

export interface CozeClient {
  api: CozeAPI
  /** Per-call options: abort signal, timeout (non-stream), logid capture. */
  options (o?: CallOptions): RequestOptions
  /** COZE_REQUEST_TIMEOUT_MS */
  requestTimeoutMs: number
  close (): void
}

export interface CallOptions {
  signal?: AbortSignal | undefined
  /** Streams are bounded by the chat pipeline's own timers; other calls get COZE_REQUEST_TIMEOUT_MS. */
  stream?: boolean
  onLogid?: ((logid: string) => void) | undefined
  /** The response headers, for answers that are not JSON (audio). */
  onHeaders?: ((headers: Record<string, unknown>) => void) | undefined
  /** Overrides COZE_REQUEST_TIMEOUT_MS (sync workflow runs can take minutes). */
  timeoutMs?: number | undefined
}

export function createCozeClient (opts: CozeClientOptions): CozeClient {
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
  instance.interceptors.response.use(
    (res) => { report(res); return res },
    (err) => { report(err?.response); return Promise.reject(err) }
  )
  const api = new CozeAPI({
    baseURL: opts.baseURL,
    token: opts.token,
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
    requestTimeoutMs: opts.requestTimeoutMs,
    options (o: CallOptions = {}) {
      const r: Record<string, unknown> = {}
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

/** One non-stream SDK call: Coze's errors become GatewayErrors (with the logid), never escape raw. */
export async function cozeCall<T> (coze: CozeClient, o: CallOptions, fn: (opts: RequestOptions) => Promise<T>, resource?: CozeResource): Promise<T> {
  try {
    return await fn(coze.options(o))
  } catch (err) {
    throw toGatewayError(err, resource)
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
    return await cozeCall(coze, { ...o, stream: true, signal: ac.signal }, fn)
  } catch (err) {
    if (timedOut) throw errors.uploadTimeout(ms)
    throw err
  } finally {
    clearTimeout(timer)
    o.signal?.removeEventListener('abort', onAbort)
  }
}
