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
  logid: string | undefined
  private internal: AbortController | undefined
  private stop: (() => void) | undefined
  private stopped = false
  private timedOut: 'connect' | 'idle' | undefined
  private timer: NodeJS.Timeout | undefined
  private idling = false

  // A plain listener rather than AbortSignal.any, which costs a WeakRef and GC work per
  // stream on Node 20 (this runs once per chat).
  private readonly forward = (): void => { this.abort() }
  private readonly onConnectTimeout = (): void => { this.timedOut = 'connect'; this.abort() }
  private readonly onIdleTimeout = (): void => { this.timedOut = 'idle'; this.abort() }

  constructor (private readonly opts: StreamOptions, private readonly resource?: CozeResource) {
    if (opts.signal?.aborted) this.abort()
    else opts.signal?.addEventListener('abort', this.forward, { once: true })
    this.timer = setTimeout(this.onConnectTimeout, opts.connectTimeoutMs)
  }

  /**
   * Pass to an SDK call: aborts on the client's signal or on a timeout. Made on first use:
   * the lean transport (./stream-transport.ts) is stopped through `onAbort` instead.
   */
  get signal (): AbortSignal {
    if (!this.internal) {
      this.internal = new AbortController()
      if (this.stopped) this.internal.abort()
    }
    return this.internal.signal
  }

  /** The lean transport's way to be stopped, for the same reasons as `signal`. */
  readonly onAbort = (stop: () => void): void => {
    this.stop = stop
    if (this.stopped) stop()
  }

  readonly onLogid = (l: string): void => {
    this.logid = l
    this.opts.onLogid?.(l)
  }

  /** An event arrived: restart the idle timer (one timer per stream, refreshed). */
  event (): void {
    if (this.idling) { this.timer!.refresh(); return }
    clearTimeout(this.timer)
    this.idling = true
    this.timer = setTimeout(this.onIdleTimeout, this.opts.idleTimeoutMs)
  }

  /** The terminal event arrived: keep reading to the end of the body (so the keep-alive
   * socket is reused), but not for long. */
  ended (): void {
    clearTimeout(this.timer)
    this.idling = false
    this.timer = setTimeout(this.onIdleTimeout, Math.min(this.opts.idleTimeoutMs, 2000))
  }

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
    if (this.stopped) return this.failure(truncated)
    return toGatewayError(err, this.resource).withLogid(this.logid)
  }

  /** Stops the timers; a stream left before its end is aborted upstream. */
  close (finished: boolean): void {
    clearTimeout(this.timer)
    this.opts.signal?.removeEventListener('abort', this.forward)
    if (!finished) this.abort()
  }

  private abort (): void {
    if (this.stopped) return
    this.stopped = true
    this.internal?.abort()
    this.stop?.()
  }
}
