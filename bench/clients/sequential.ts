// Concurrency-1 client: one request at a time, the targets interleaved (A B C, B C A, …)
// so every target sees the same machine noise. argv[2]: JSON SeqInput; last stdout line:
// JSON SeqResult with the raw per-request timings.
import http from 'node:http'
import { exchange, type Exchange, type Target } from './exchange.js'

export interface SeqInput {
  targets: Target[]
  iterations: number
  warmup: number
}

export interface SeqTargetResult {
  name: string
  totalMs: number[]
  headersMs: number[]
  firstDeltaMs: number[]
  /** gaps between consecutive delta frames of each answer, ms */
  gapsMs: number[]
  deltasPerAnswer: number[]
  multiDeltaReads: number
  errors: number
  firstError?: string
}

export type SeqResult = SeqTargetResult[]

const input = JSON.parse(process.argv[2] ?? '{}') as SeqInput
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const results: SeqResult = input.targets.map((t) => ({ name: t.name, totalMs: [], headersMs: [], firstDeltaMs: [], gapsMs: [], deltasPerAnswer: [], multiDeltaReads: 0, errors: 0 }))

const record = (r: SeqTargetResult, x: Exchange) => {
  if (!x.complete) {
    r.errors++
    r.firstError ??= x.error ?? `status ${x.status}`
    return
  }
  r.totalMs.push(x.endMs)
  r.headersMs.push(x.headersMs)
  if (x.deltaMs.length > 0) r.firstDeltaMs.push(x.deltaMs[0]!)
  for (let i = 1; i < x.deltaMs.length; i++) r.gapsMs.push(x.deltaMs[i]! - x.deltaMs[i - 1]!)
  r.deltasPerAnswer.push(x.deltaMs.length)
  r.multiDeltaReads += x.multiDeltaReads
}

const n = input.targets.length
for (let it = 0; it < input.warmup + input.iterations; it++) {
  for (let k = 0; k < n; k++) {
    const idx = (it + k) % n
    const x = await exchange(input.targets[idx]!, agent)
    if (it >= input.warmup) record(results[idx]!, x)
  }
}
agent.destroy()
console.log(JSON.stringify(results))
