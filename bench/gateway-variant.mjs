/* global process, setInterval */
// The gateway with one thing changed, for before/after figures measured in the same run:
// the same buildApp() from dist/ (or src/ in smoke runs, through tsx), the same config
// from the environment; only the Coze client is built with STREAM_TRANSPORT (http =
// axios's http adapter for streams, as before the undici adapter). Listens on PORT.
// Plain JS, so a dist/ run needs no TypeScript loader (which would add its own memory).
// BENCH_MEMLOG=<ms>: print process.memoryUsage() to stderr every <ms> (investigations).
const root = process.env.GATEWAY_CODE === 'src' ? '../src' : '../dist'
const ext = process.env.GATEWAY_CODE === 'src' ? '.ts' : '.js'
const { buildApp } = await import(`${root}/app${ext}`)
const { loadConfig } = await import(`${root}/config${ext}`)
const { createCozeClient } = await import(`${root}/coze/client${ext}`)
const { default: axios } = await import('axios')

const config = loadConfig(process.env)
const coze = createCozeClient({
  baseURL: config.COZE_API_BASE,
  token: config.COZE_API_TOKEN,
  requestTimeoutMs: config.COZE_REQUEST_TIMEOUT_MS,
  transport: config.COZE_TRANSPORT,
  // The benchmark's "before": the SDK's streams through axios's http adapter instead of undici
  // (with COZE_TRANSPORT=sdk: the hot path's streams are the SDK's then).
  streamAdapter: process.env.STREAM_TRANSPORT === 'http' ? axios.getAdapter('http') : undefined
})
const app = await buildApp(config, { coze })
await app.listen({ host: config.HOST, port: config.PORT })
if (process.env.BENCH_MEMLOG) {
  setInterval(() => {
    const m = process.memoryUsage()
    process.stderr.write(`mem ${Object.entries(m).map(([k, v]) => `${k}=${Math.round(v / 1e6)}`).join(' ')}\n`)
  }, Number(process.env.BENCH_MEMLOG)).unref()
}
process.once('SIGTERM', () => { void app.close().then(() => { coze.close(); process.exit(0) }) })
