export type Fault =
  | { kind: 'latency'; headersMs?: number; deltaMs?: number }
  | { kind: 'coze_error'; code: number; msg?: string }
  | { kind: 'http_status'; status: number; retryAfter?: number }
  | { kind: 'reset' }
  | { kind: 'truncate'; afterDeltas?: number }
  | { kind: 'stream_error'; afterDeltas?: number; code?: number; msg?: string }
  | { kind: 'chat_failed'; afterDeltas?: number; code?: number; msg?: string }
  | { kind: 'malformed'; afterDeltas?: number }
  | { kind: 'hang' }

export type FaultKind = Fault['kind']

/** Faults that act inside a stream (or on the body of a JSON answer). */
export type StreamFault = Extract<Fault, { kind: 'truncate' | 'stream_error' | 'chat_failed' | 'malformed' }>

export interface FaultMatch {
  /** exact path (after normalisation, without query) or a RegExp tested against it */
  path?: string | RegExp
  /** how many matching requests it applies to; default Infinity */
  times?: number
  /** only requests sent with this bearer token (e.g. rate-limit one credential of a pool) */
  token?: string
}

/** A fault and its match in one object, as the control endpoint takes it. */
export type FaultSpec = Fault & FaultMatch

export interface FaultController {
  inject(fault: Fault, match?: FaultMatch): void
  /** the same as inject, with the match fields in the fault object */
  add(spec: FaultSpec): void
  clear(): void
}

/** Deltas sent before a stream fault fires, unless the fault says otherwise. */
export const DEFAULT_AFTER_DELTAS = 2

const KINDS = new Set<FaultKind>(['latency', 'coze_error', 'http_status', 'reset', 'truncate', 'stream_error', 'chat_failed', 'malformed', 'hang'])

interface Entry { fault: Fault; path: string | RegExp | undefined; token: string | undefined; left: number }

export class FaultRegistry implements FaultController {
  private entries: Entry[] = []

  inject (fault: Fault, match: FaultMatch = {}): void {
    const times = match.times ?? Infinity
    if (!(times > 0)) return
    this.entries.push({ fault, path: match.path, token: match.token, left: times })
  }

  add (spec: FaultSpec): void {
    const { path, times, token, ...fault } = spec
    this.inject(fault as Fault, { path, times, token })
  }

  clear (): void {
    this.entries = []
  }

  /** The first injected fault matching `path` (and the bearer token); consumes one of its `times`. */
  take (path: string, token: string | undefined): Fault | undefined {
    if (this.entries.length === 0) return undefined
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!
      if (e.path !== undefined && (typeof e.path === 'string' ? e.path !== path : !e.path.test(path))) continue
      if (e.token !== undefined && e.token !== token) continue
      e.left -= 1
      if (e.left <= 0) this.entries.splice(i, 1)
      return e.fault
    }
    return undefined
  }
}

const RESERVED = /^fault-(?:(\d{4})|http-(\d{3})|latency-(\d+)|(reset|hang)|(truncate|stream-error|chat-failed|malformed)(?:-(\d+))?)$/

/**
 * The fault selected by a reserved bot id or workflow id, e.g. `fault-4013`, `fault-http-503`,
 * `fault-truncate` or `fault-truncate-0` (fire after 0 deltas), `fault-latency-250`.
 */
export function reservedFault (id: unknown): Fault | undefined {
  if (typeof id !== 'string' || !id.startsWith('fault-')) return undefined
  const m = RESERVED.exec(id)
  if (!m) return undefined
  if (m[1] !== undefined) return { kind: 'coze_error', code: Number(m[1]) }
  if (m[2] !== undefined) return { kind: 'http_status', status: Number(m[2]) }
  if (m[3] !== undefined) return { kind: 'latency', headersMs: Number(m[3]) }
  if (m[4] === 'reset') return { kind: 'reset' }
  if (m[4] === 'hang') return { kind: 'hang' }
  const afterDeltas = m[6] !== undefined ? Number(m[6]) : undefined
  switch (m[5]) {
    case 'truncate': return { kind: 'truncate', afterDeltas }
    case 'stream-error': return { kind: 'stream_error', afterDeltas }
    case 'chat-failed': return { kind: 'chat_failed', afterDeltas }
    default: return { kind: 'malformed', afterDeltas }
  }
}

/** Validates a Fault received as JSON by the control endpoint. Returns an error message or the fault. */
export function parseFault (body: unknown): Fault | string {
  if (typeof body !== 'object' || body === null) return 'body must be a Fault object'
  const f = body as Record<string, unknown>
  if (typeof f.kind !== 'string' || !KINDS.has(f.kind as FaultKind)) return `unknown fault kind: ${String(f.kind)}`
  const num = (k: string): boolean => f[k] === undefined || (typeof f[k] === 'number' && Number.isFinite(f[k]) && (f[k] as number) >= 0)
  for (const k of ['headersMs', 'deltaMs', 'afterDeltas', 'code', 'status', 'retryAfter']) if (!num(k)) return `${k} must be a non-negative number`
  if (f.kind === 'coze_error' && typeof f.code !== 'number') return 'coze_error needs a numeric code'
  if (f.kind === 'http_status' && (typeof f.status !== 'number' || f.status < 200 || f.status > 599)) return 'http_status needs a status between 200 and 599'
  if (f.msg !== undefined && typeof f.msg !== 'string') return 'msg must be a string'
  if (f.token !== undefined && typeof f.token !== 'string') return 'token must be a string'
  const { path: _p, times: _t, token: _k, ...fault } = f
  return fault as unknown as Fault
}
