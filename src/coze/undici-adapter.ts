// An axios adapter that sends the SDK's *streaming* calls (chat, workflow streams: the
// gateway's hot path) through undici instead of axios's Node http adapter.
//
// Why: profiling the gateway under load (BENCHMARKS.md, "Profiling") put axios's http
// adapter and the node:http client it drives near the top; undici does the same request
// for less CPU. The SDK still builds every request and parses every stream: only the
// transport changes. Everything the adapter does not handle exactly (non-stream calls,
// uploads, params, proxies, auth, redirects, progress callbacks) goes to axios's own
// http adapter, unchanged.
//
// Contract kept with the http adapter, for `responseType: 'stream'`:
// - resolves { data: Node Readable, status, statusText, headers: AxiosHeaders, config,
//   request }, settled through validateStatus (a bad status rejects an AxiosError
//   with that response, as axios does);
// - `signal`: aborted before the response → CanceledError (ERR_CANCELED); after it,
//   the body stream is destroyed by undici (the SDK's iteration ends, as with axios);
// - `timeout`: no response in time → AxiosError ECONNABORTED (ETIMEDOUT with
//   transitional.clarifyTimeoutError), "timeout of <n>ms exceeded"; a body silent
//   for that long is destroyed, as axios's socket timeout does;
// - network failures → AxiosError carrying the system code (ECONNREFUSED, …) and message.
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import { pipeline, type Readable } from 'node:stream'
import { AxiosError, AxiosHeaders, CanceledError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios'
import { Agent, request } from 'undici'

export interface UndiciAdapter {
  adapter: AxiosAdapter
  close (): Promise<void>
}

const noop = (): void => {}

const PROXY_ENV = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy']

/** True when the request is one this adapter reproduces exactly; anything else goes to `fallback`. */
function handles (config: InternalAxiosRequestConfig): boolean {
  const c = config as InternalAxiosRequestConfig & { socketPath?: unknown, auth?: unknown, proxy?: unknown, onUploadProgress?: unknown, onDownloadProgress?: unknown, maxRate?: unknown }
  return c.responseType === 'stream' &&
    typeof c.url === 'string' && /^https?:\/\//.test(c.url) &&
    (c.params === undefined || c.params === null) &&
    (c.data === undefined || c.data === null || typeof c.data === 'string' || Buffer.isBuffer(c.data)) &&
    !c.socketPath && !c.auth && !c.proxy && !c.onUploadProgress && !c.onDownloadProgress && !c.maxRate
}

function decompress (body: Readable, encoding: string | undefined): Readable {
  const make = encoding === 'gzip' || encoding === 'x-gzip'
    ? createGunzip
    : encoding === 'deflate' ? createInflate : encoding === 'br' ? createBrotliDecompress : undefined
  if (!make) return body
  return pipeline(body, make(), () => {})
}

/**
 * @param fallback axios's http adapter (or any adapter) for the calls this one does not take
 * @param opts.proxyEnv when a proxy is configured through the environment, every call goes
 *   to the fallback (which honours HTTP(S)_PROXY; this adapter does not)
 */
export function createUndiciAdapter (fallback: AxiosAdapter, opts: { keepAliveTimeoutMs?: number, env?: NodeJS.ProcessEnv } = {}): UndiciAdapter {
  const env = opts.env ?? process.env
  const proxied = PROXY_ENV.some((k) => env[k])
  const dispatcher = new Agent({ keepAliveTimeout: opts.keepAliveTimeoutMs ?? 10_000 })

  const adapter: AxiosAdapter = (config) => {
    if (proxied || !handles(config)) return fallback(config)
    return new Promise<AxiosResponse>((resolve, reject) => {
      const timeout = config.timeout ?? 0
      const callerSignal = config.signal as AbortSignal | undefined
      const request_ = { method: (config.method ?? 'get').toUpperCase(), path: config.url }
      const canceled = () => new CanceledError(undefined, config, request_)
      if (callerSignal?.aborted) { reject(canceled()); return }

      // The caller's signal goes to undici as it is: it aborts the request and, after the
      // response, the body. Only a timeout needs a controller of its own (the gateway's
      // streams have none: it keeps one object less per open stream).
      let signal = callerSignal
      let controller: AbortController | undefined
      let timer: NodeJS.Timeout | undefined
      let timedOut = false
      if (timeout > 0) {
        const c = new AbortController()
        controller = c
        signal = c.signal
        callerSignal?.addEventListener('abort', () => c.abort(), { once: true })
        timer = setTimeout(() => { timedOut = true; c.abort() }, timeout)
      }

      const headers: Record<string, string> = {}
      // toJSON(true): header values as strings, unset (null/false) ones left out
      for (const [k, v] of Object.entries(AxiosHeaders.from(config.headers).toJSON(true))) headers[k.toLowerCase()] = String(v)
      // What axios's http adapter asks for; a compressed answer is decompressed below.
      headers['accept-encoding'] ??= 'gzip, deflate, br'

      request(config.url!, {
        method: request_.method as 'POST',
        headers,
        body: (config.data as string | Buffer | undefined) ?? null,
        signal: signal ?? null,
        dispatcher,
        // axios never times out an open body on its own; the idle timer below does (when timeout is set)
        headersTimeout: 0,
        bodyTimeout: 0
      }).then((res) => {
        clearTimeout(timer)
        // undici turns an abort or destroy() before the end into an 'error' event. A reader
        // that already left (the SDK's iteration returned) listens no more, and an unheard
        // 'error' would crash the process; a reader still iterating gets it anyway.
        res.body.on('error', noop)
        const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase() || undefined
        const body = decompress(res.body, encoding)
        if (body !== res.body) body.on('error', noop)
        if (controller) {
          // Like a socket timeout: the body may not stay silent longer than `timeout`.
          const c = controller
          const idle = setTimeout(() => { c.abort(); body.destroy() }, timeout)
          body.on('data', () => idle.refresh())
          body.once('close', () => clearTimeout(idle))
        }
        const response: AxiosResponse = {
          data: body,
          status: res.statusCode,
          statusText: '',
          headers: new AxiosHeaders(res.headers as Record<string, string>),
          config,
          request: request_
        }
        const validate = config.validateStatus
        if (!validate || validate(res.statusCode)) resolve(response)
        else {
          reject(new AxiosError(`Request failed with status code ${res.statusCode}`,
            res.statusCode >= 500 ? AxiosError.ERR_BAD_RESPONSE : AxiosError.ERR_BAD_REQUEST, config, request_, response))
        }
      }, (err: Error & { code?: string, cause?: Error & { code?: string } }) => {
        clearTimeout(timer)
        if (timedOut) {
          const msg = config.timeoutErrorMessage || `timeout of ${timeout}ms exceeded`
          reject(new AxiosError(msg, config.transitional?.clarifyTimeoutError ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED, config, request_))
        } else if (callerSignal?.aborted) {
          reject(canceled())
        } else {
          // undici reports system errors either directly or as the cause of a TypeError.
          const sys = err.code && !err.code.startsWith('UND_ERR') ? err : err.cause?.code ? err.cause : err
          reject(AxiosError.from(sys, sys.code, config, request_))
        }
      })
    })
  }

  return { adapter, close: () => dispatcher.close() }
}
