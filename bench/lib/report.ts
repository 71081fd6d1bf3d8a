// Shapes shared by the scenarios and the BENCHMARKS.md writer.

export interface Params {
  smoke: boolean
  rounds: number
  /** scenario 1: autocannon connections, seconds per setup per round, warm-up seconds */
  connections: number
  loadS: number
  warmupS: number
  /** concurrency-1 requests per target per round */
  latencyIters: number
  /** scenario 2: first-delta requests, paced answers per target per round, pace (ms) */
  ttfdIters: number
  slowIters: number
  slowBotMs: number
  /** scenario 3: concurrent stream counts; the slow bot's shortest per-delta pace (ms) */
  streamCounts: number[]
  streamBotMs: number
  /** streams opened per second; how long every stream outlives the opening of the last (s); client processes */
  streamOpenPerS: number
  streamHoldS: number
  streamClients: number
  /** the stream count of the before/after comparison (the "before" gateway) */
  abStreams: number
  /** scenario 4 */
  uploadBytes: number
  /** scenario 5 */
  coldStarts: number
}

export const FULL: Params = {
  smoke: false,
  rounds: 3,
  connections: 16,
  loadS: 5,
  warmupS: 2,
  latencyIters: 300,
  ttfdIters: 200,
  slowIters: 10,
  slowBotMs: 20,
  streamCounts: [2000, 10_000],
  streamBotMs: 4000,
  streamOpenPerS: 200,
  streamHoldS: 30,
  streamClients: 2,
  abStreams: 2000,
  uploadBytes: 10 * 1024 * 1024,
  coldStarts: 5
}

export const SMOKE: Params = {
  smoke: true,
  rounds: 1,
  connections: 4,
  loadS: 0.5,
  warmupS: 0,
  latencyIters: 5,
  ttfdIters: 5,
  slowIters: 2,
  slowBotMs: 5,
  streamCounts: [20],
  streamBotMs: 20,
  streamOpenPerS: 200,
  streamHoldS: 0,
  streamClients: 2,
  abStreams: 20,
  uploadBytes: 256 * 1024,
  coldStarts: 1
}

export interface TargetResult {
  scenario: number
  target: string
  measured: string
  pass: boolean
}

export interface Section {
  scenario: number
  title: string
  /** markdown paragraphs and tables */
  body: string[]
  targets: TargetResult[]
  /** before/after figures measured in this run, for the Profiling section */
  profiling?: string[]
  raw: unknown
}

export function table (head: string[], rows: string[][], align: Array<'l' | 'r'> = []): string {
  const sep = head.map((_, i) => (align[i] ?? (i === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---')
  return [head, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
}
