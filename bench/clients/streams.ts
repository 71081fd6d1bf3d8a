// Many concurrent SSE chats: opens `streams` requests, `batch` every `batchEveryMs`;
// each must answer 200, relay every delta, then chat_completed and end. Records when each
// stream opened (headers received) and ended, in epoch ms, so the streams of several
// client processes can be merged (lib/streams.ts counts how many were open at once).
// Prints {"allOpen":true} when every stream of this client has its headers.
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
  /** epoch ms: the first request sent, the end of the last stream */
  startedAt: number
  endedAt: number
  /** epoch ms of each stream's headers, and of the end of those streams (same order) */
  openedAt: number[]
  closedAt: number[]
  deltas: number
}

const input = JSON.parse(process.argv[2] ?? '{}') as StreamsInput
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity })
const errorKinds: Record<string, number> = {}
const epoch = () => performance.timeOrigin + performance.now()
const openedAt: number[] = []
const closedAt: number[] = []
let ok = 0
let deltas = 0
const startedAt = epoch()

const one = async () => {
  let i = -1
  const x = await exchange(input.target, agent, input.timeoutMs, {
    onHeaders () {
      i = openedAt.push(epoch()) - 1
      closedAt.push(NaN)
      if (openedAt.length === input.streams) console.log(JSON.stringify({ allOpen: true }))
    },
    onDone () { if (i >= 0) closedAt[i] = epoch() }
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
const out: StreamsResult = { ok, errors: input.streams - ok, errorKinds, startedAt, endedAt: epoch(), openedAt, closedAt, deltas }
console.log(JSON.stringify(out))
