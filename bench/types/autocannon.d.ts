// The part of autocannon's programmatic API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  interface Options {
    url: string
    method?: string
    headers?: Record<string, string>
    body?: string
    connections?: number
    duration?: number
    maxOverallRequests?: number
    timeout?: number
  }
  interface Histogram { average: number, p50: number, p99: number, total: number }
  interface Result {
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
    latency: Histogram
    requests: Histogram
  }
  function autocannon (opts: Options): Promise<Result>
  export default autocannon
}
