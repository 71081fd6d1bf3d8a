// Builds the one CozeAPI client the gateway uses, and the one wrapper every non-stream
// call goes through (error mapping, logid capture, timeout).
// - streaming calls (the hot path) through undici (./undici-adapter.ts: ~10 % less gateway
//   CPU per chat and less memory per open stream than axios's http adapter, measured side
//   by side in BENCHMARKS.md "Profiling"); every other call through axios's Node http
//   adapter with keep-alive agents (the SDK's default for streams is global fetch, which
//   costs ~2x the CPU per request);
// - a response hook that hands each call's headers (x-tt-logid) to the caller, because
//   the SDK does not expose them for streams;
// - every call reported to the client's recorder (endpoint, outcome, Coze code) and timed
//   on the caller's clock (the time a request spent waiting on Coze).
import http from 'node:http'
import https from 'node:https'
import axios, { type AxiosAdapter, type AxiosResponse } from 'axios'
import { CozeAPI, type RequestOptions } from '@coze/api'
import { createUndiciAdapter } from './undici-adapter.js'
import { ClientAbortError, type GatewayError } from '../errors.js'
import { endpointOf } from './endpoints.js'
import { toGatewayError, type CozeResource } from './errors.js'

export interface CozeClientOptions {
  baseURL: string
  token: string
  requestTimeoutMs: number
  /** Replaces the transport of streaming calls (the benchmark injects axios's http adapter for its before/after). */
  streamAdapter?: AxiosAdapter | undefined
}

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
  api: CozeAPI
  /** Per-call options: abort signal, timeout (non-stream), logid capture; `onPath` gets the request's path. */
  options (o?: CallOptions, onPath?: (path: string) => void): RequestOptions
  /** Set by the app: every call is reported here. */
  recorder: UpstreamRecorder | undefined
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
  /** The calling request's clock: the call is timed on it. */
  clock?: UpstreamClock | undefined
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
  const base = opts.baseURL.length
  instance.interceptors.request.use((config) => {
    const onPath = (config as { onPath?: (p: string) => void }).onPath
    if (onPath && config.url) onPath(config.url.startsWith(opts.baseURL) ? config.url.slice(base) : config.url)
    return config
  })
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
    recorder: undefined,
    options (o: CallOptions = {}, onPath?: (path: string) => void) {
      const r: Record<string, unknown> = {}
      if (o.signal) r.signal = o.signal
      if (!o.stream) r.timeout = o.timeoutMs ?? opts.requestTimeoutMs
      if (o.onLogid) r.onLogid = o.onLogid
      if (o.onHeaders) r.onHeaders = o.onHeaders
      if (onPath) r.onPath = onPath
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
 * raw. The call is reported (its endpoint named from its path) and timed on the caller's clock.
 */
export async function cozeCall<T> (coze: CozeClient, o: CallOptions, fn: (opts: RequestOptions) => Promise<T>, resource?: CozeResource): Promise<T> {
  let path: string | undefined
  const onPath = coze.recorder ? (p: string) => { path = p } : undefined
  o.clock?.begin()
  try {
    const r = await fn(coze.options(o, onPath))
    reportUpstream(coze, endpointOf(path))
    return r
  } catch (err) {
    const e = toGatewayError(err, resource)
    reportUpstream(coze, endpointOf(path), o.signal?.aborted ? new ClientAbortError() : e)
    throw e
  } finally {
    o.clock?.end()
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
