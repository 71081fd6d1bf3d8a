// What one request did, as the gateway measured it: the time it spent waiting on Coze
// (the union of its Coze calls, so parallel calls are not counted twice), its first
// delta, and what its log line reports (the chat, the error). The split it gives is the
// one of the Server-Timing header, the SSE `timing` field and the overhead metric.
import type { Usage } from '../coze/chat.js'
import type { UpstreamClock } from '../coze/client.js'

/** Milliseconds, to the microsecond; the parts never add up to more than the total. */
export interface TimingSplit { upstream_ms: number, gateway_ms: number }

/** The SSE chat_completed `timing`: the split of the time to the first delta (null: none was sent). */
export interface ChatTiming extends TimingSplit { first_delta_ms: number | null }

/** The chat of a request, for its log line. */
export interface ChatNote {
  bot?: string | undefined
  workflow_id?: string | undefined
  conversation_id: string
  chat_id: string
  usage?: Usage | undefined
}

export interface ErrorNote { code: string, coze_code?: number | undefined, logid?: string | undefined }

const us = (ms: number) => Math.round(ms * 1000) / 1000

/** `total` split into Coze's part and the gateway's, rounded so that upstream + gateway ≤ total holds in floating point too. */
export function splitMs (totalMs: number, upstreamMs: number): TimingSplit & { total_ms: number } {
  const total = us(totalMs)
  const upstream = Math.min(us(upstreamMs), total)
  let gateway = Math.max(0, us(total - upstream))
  while (gateway > 0 && (upstream + gateway > total || total - upstream - gateway < 0)) gateway = Math.max(0, us(gateway - 0.001))
  return { upstream_ms: upstream, gateway_ms: gateway, total_ms: total }
}

export class Observation implements UpstreamClock {
  /** Coze calls begun */
  calls = 0
  /** The answer is an SSE stream. */
  streamed = false
  /** A JSON answer's split, as sent in Server-Timing. */
  split: TimingSplit | undefined
  /** The stream's first delta reached the client, this long after the request arrived. */
  firstDeltaMs: number | undefined
  chat: ChatNote | undefined
  error: ErrorNote | undefined
  /** Its metrics and log line are written (once). */
  ended = false

  private inflight = 0
  private spanStart = 0
  private upstream = 0
  private deltaAt: number | undefined
  private upstreamAtDelta = 0
  private deltaTiming: ChatTiming | undefined

  /** `startedAt`: performance.now() when the request arrived. */
  constructor (readonly startedAt: number = performance.now()) {}

  begin (): void {
    this.calls++
    if (this.inflight++ === 0) this.spanStart = performance.now()
  }

  end (): void {
    if (this.inflight > 0 && --this.inflight === 0) this.upstream += performance.now() - this.spanStart
  }

  firstDelta (): void {
    if (this.deltaAt !== undefined) return
    this.deltaAt = performance.now()
    this.upstreamAtDelta = this.upstreamMs(this.deltaAt)
  }

  /** Time spent waiting on Coze up to `now`. */
  upstreamMs (now = performance.now()): number {
    return this.upstream + (this.inflight > 0 ? now - this.spanStart : 0)
  }

  /** Time since the request arrived, to the first delta from Coze (undefined: none yet). */
  get deltaArrivedMs (): number | undefined {
    return this.deltaAt === undefined ? undefined : this.deltaAt - this.startedAt
  }

  /**
   * A frame was written to the client. The first time one follows Coze's first delta, the
   * split of the time to first delta is returned (and kept for the chat's `timing`).
   */
  deltaWritten (): ChatTiming | undefined {
    if (this.deltaAt === undefined || this.deltaTiming) return undefined
    const s = splitMs(performance.now() - this.startedAt, this.upstreamAtDelta)
    this.firstDeltaMs = s.total_ms
    this.deltaTiming = { upstream_ms: s.upstream_ms, gateway_ms: s.gateway_ms, first_delta_ms: s.total_ms }
    return this.deltaTiming
  }

  /** The split of the time so far (a JSON answer's Server-Timing). */
  splitNow (): TimingSplit {
    const now = performance.now()
    const { upstream_ms: u, gateway_ms: g } = splitMs(now - this.startedAt, this.upstreamMs(now))
    return { upstream_ms: u, gateway_ms: g }
  }

  /** A chat's `timing`: the split of the time to its first delta, or of the time so far when none was sent. */
  chatTiming (): ChatTiming {
    return this.deltaTiming ?? { ...this.splitNow(), first_delta_ms: null }
  }
}
