// Bounds one upstream Coze stream (chat or workflow): a connect + first-event timer, an
// idle timer between events, an internal abort, and the error that explains why the
// SDK's iteration ended. The SDK ends a stream *silently* on abort, timeout and a cut
// connection, so the pipelines ask the guard what really happened.
import { ClientAbortError, errors, GatewayError } from '../errors.js'
import { toGatewayError, type CozeResource } from './errors.js'
import type { UpstreamClock } from './client.js'
import type { Lease, Route } from './credentials.js'

export interface StreamLimits {
  /** connect + first event */
  connectTimeoutMs: number
  /** longest silence between two events */
  idleTimeoutMs: number
}

export interface StreamOptions extends StreamLimits, Route {
  /** The credential to stream on (the chat service's choice, kept across its retries); default: the route's. */
  lease?: Lease | undefined
  /** The client's own abort (disconnect or shutdown). */
  signal?: AbortSignal | undefined
  /** Called with the Coze logid as soon as the response headers arrive. */
  onLogid?: ((logid: string) => void) | undefined
  /** The calling request's clock: the stream is timed on it, and its first delta marked. */
  clock?: UpstreamClock | undefined
}

export class StreamGuard {
  /** Pass to the SDK call: aborts on the client's signal or on a timeout. */
  readonly signal: AbortSignal
  logid: string | undefined
  private readonly internal = new AbortController()
  private timedOut: 'connect' | 'idle' | undefined
  private timer: NodeJS.Timeout | undefined

  // A plain listener rather than AbortSignal.any, which costs a WeakRef and GC work per
  // stream on Node 20 (this runs once per chat).
  private readonly forward = (): void => { this.internal.abort() }

  constructor (private readonly opts: StreamOptions, private readonly resource?: CozeResource) {
    this.signal = this.internal.signal
    if (opts.signal?.aborted) this.internal.abort()
    else opts.signal?.addEventListener('abort', this.forward, { once: true })
    this.arm('connect', opts.connectTimeoutMs)
  }

  readonly onLogid = (l: string): void => {
    this.logid = l
    this.opts.onLogid?.(l)
  }

  /** An event arrived: restart the idle timer. */
  event (): void { this.arm('idle', this.opts.idleTimeoutMs) }

  /** The terminal event arrived: keep reading to the end of the body (so the keep-alive
   * socket is reused), but not for long. */
  ended (): void { this.arm('idle', Math.min(this.opts.idleTimeoutMs, 2000)) }

  /** Why the stream stopped without its terminal event. */
  failure (truncated: string): Error {
    if (this.opts.signal?.aborted) return new ClientAbortError()
    if (this.timedOut === 'connect') return errors.connectTimeout(this.opts.connectTimeoutMs, this.logid)
    if (this.timedOut === 'idle') return errors.idleTimeout(this.opts.idleTimeoutMs, this.logid)
    return errors.truncated(truncated, this.logid)
  }

  /** An error thrown while iterating → the error to raise. */
  toError (err: unknown, truncated: string): Error {
    if (err instanceof GatewayError) return err
    if (this.signal.aborted) return this.failure(truncated)
    return toGatewayError(err, this.resource).withLogid(this.logid)
  }

  /** Stops the timers; a stream left before its end is aborted upstream. */
  close (finished: boolean): void {
    clearTimeout(this.timer)
    this.opts.signal?.removeEventListener('abort', this.forward)
    if (!finished) this.internal.abort()
  }

  private arm (kind: 'connect' | 'idle', ms: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { this.timedOut = kind; this.internal.abort() }, ms)
  }
}
