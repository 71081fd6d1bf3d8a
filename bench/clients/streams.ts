// Many concurrent SSE chats: opens `streams` requests, `batch` every `batchEveryMs`;
// each must answer 200, relay every delta, then chat_completed and end. Counts how many
// were open (first bytes received, not yet ended) at the same time.
// argv[2]: JSON StreamsInput; last stdout line: JSON StreamsResult.
import http from 'node:http'
import { exchange, type Target } from './exchange.js'

export interface StreamsInput {
  target: Target
  streams: number
  expectedDeltas: number
  batch: number
  batchEveryMs: number
  timeoutMs: number
}

export interface StreamsResult {
  ok: number
  errors: number
  errorKinds: Record<string, number>
  /** most streams open (headers received, not yet ended) at the same moment */
  maxOpen: number
  /** time to get the headers of every stream, ms */
  allOpenMs: number
  totalMs: number
  deltas: number
  /** streams opened per second (headers received), first to last */
  openRate: number
}

const input = JSON.parse(process.argv[2] ?? '{}') as StreamsInput
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity })
const errorKinds: Record<string, number> = {}
let open = 0
let maxOpen = 0
let headersSeen = 0
let allOpenMs = NaN
let ok = 0
let deltas = 0
const start = performance.now()

const one = async () => {
  let counted = false
  const x = await exchange(input.target, agent, input.timeoutMs, {
    onHeaders () {
      counted = true
      open++
      headersSeen++
      maxOpen = Math.max(maxOpen, open)
      if (headersSeen === input.streams) allOpenMs = performance.now() - start
    },
    onDone () { if (counted) open-- }
  })
  deltas += x.deltaMs.length
  const good = x.complete && x.deltaMs.length === input.expectedDeltas
  if (good) ok++
  else {
    const kind = x.error ?? (x.status !== 200 ? `status ${x.status}` : x.complete ? `deltas ${x.deltaMs.length}/${input.expectedDeltas}` : 'incomplete stream')
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1
  }
}

const all: Array<Promise<void>> = []
for (let i = 0; i < input.streams; i += input.batch) {
  for (let j = i; j < Math.min(input.streams, i + input.batch); j++) all.push(one())
  if (i + input.batch < input.streams) await new Promise((resolve) => setTimeout(resolve, input.batchEveryMs))
}
await Promise.all(all)
const out: StreamsResult = {
  ok,
  errors: input.streams - ok,
  errorKinds,
  maxOpen,
  allOpenMs,
  totalMs: performance.now() - start,
  deltas,
  openRate: input.streams / (allOpenMs / 1000)
}
console.log(JSON.stringify(out))
