// Load generator process: autocannon, bounded in time (duration) and count
// (maxOverallRequests). argv[2]: JSON LoadInput. Last stdout line: JSON LoadResult.
import autocannon from 'autocannon'

export interface LoadInput {
  url: string
  body: string
  headers?: Record<string, string>
  connections: number
  durationS: number
  maxRequests: number
}

export interface LoadResult {
  requests: number
  rps: number
  durationS: number
  p50Ms: number
  p99Ms: number
  errors: number
  timeouts: number
  non2xx: number
}

const input = JSON.parse(process.argv[2] ?? '{}') as LoadInput
const r = await autocannon({
  url: input.url,
  method: 'POST',
  headers: { 'content-type': 'application/json', ...input.headers },
  body: input.body,
  connections: input.connections,
  duration: input.durationS,
  maxOverallRequests: input.maxRequests,
  timeout: 10
})
const completed = r['2xx']
const seconds = r.duration
const out: LoadResult = {
  requests: completed,
  rps: completed / seconds,
  durationS: seconds,
  p50Ms: r.latency.p50,
  p99Ms: r.latency.p99,
  errors: r.errors,
  timeouts: r.timeouts,
  non2xx: r.non2xx
}
console.log(JSON.stringify(out))
