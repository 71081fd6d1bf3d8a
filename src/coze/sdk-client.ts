// The SDK client (CozeAPI over axios), built on the first Coze call (./client.ts): every
// non-stream call goes through axios's Node http adapter with keep-alive agents (the SDK's
// default for streams is global fetch, which costs ~2x the CPU per request), and the SDK's
// own streams (COZE_TRANSPORT=sdk) through undici (./undici-adapter.ts). Interceptors:
// - a response hook that hands each call's headers (x-tt-logid) to the caller, because the
//   SDK does not expose them for streams;
// - a request hook that sends each call with the token of its own credential: the SDK's
//   `token` option takes no arguments, so it cannot know which credential or end user a
//   call is for. That option (`token`) only serves calls made without one (tests, benchmarks).
import http from 'node:http'
import https from 'node:https'
import axios, { type AxiosAdapter, type AxiosResponse } from 'axios'
import { CozeAPI } from '@coze/api'
import { createUndiciAdapter } from './undici-adapter.js'
import type { CallOptions } from './client.js'

export interface SdkClient {
  api: CozeAPI
  close (): void
}

export function createSdkClient (opts: { baseURL: string, token: () => string, streamAdapter?: AxiosAdapter | undefined }): SdkClient {
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
    const c = config as { cozeToken?: string, onPath?: (p: string) => void }
    if (c.cozeToken !== undefined) config.headers.set('authorization', `Bearer ${c.cozeToken}`)
    if (c.onPath && config.url) c.onPath(config.url.startsWith(opts.baseURL) ? config.url.slice(base) : config.url)
    return config
  }, undefined, { synchronous: true })
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
    close () {
      httpAgent.destroy()
      httpsAgent.destroy()
      void streams.close()
    }
  }
}
