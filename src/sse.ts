// Server-Sent Events to the client: one `data: <json>\n\n` frame per event, written at
// once with backpressure, a heartbeat comment while nothing else is sent, and a close
// signal when the client leaves. The body goes through reply.send(stream) so CORS,
// rate-limit and request-id headers set by hooks stay on the response.
// relaySse() drives a stream of pipeline events through a wire (one per client format), and
// measures every stream once: open streams, duration and outcome, time to first delta.
import { PassThrough } from 'node:stream'
import { once } from 'node:events'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { ClientAbortError, errors, type GatewayError } from './errors.js'
import { toClientError } from './fastify-errors.js'
import type { StreamOutcome } from './metrics/metrics.js'

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no'
} as const

export interface SseOptions {
  heartbeatMs: number
  /** Registry of open streams, so shutdown can end them with a final frame. */
  registry?: Set<SseStream> | undefined
}

export class SseStream {
  private readonly body = new PassThrough()
  private heartbeat: NodeJS.Timeout | undefined
  private readonly aborter = new AbortController()
  private gone = false
  private stopping = false
  private ended = false
  /** Aborts when the client disconnects, or when the gateway shuts down: stop the upstream. */
  readonly signal = this.aborter.signal

  constructor (private readonly reply: FastifyReply, private readonly opts: SseOptions) {
    reply.raw.on('close', () => {
      if (!this.ended) {
        this.gone = true
        this.aborter.abort()
        // The client left mid-stream: make sure the half-open socket does not hold close().
        reply.raw.socket?.destroy()
      }
      this.cleanup()
    })
  }

  /** Sends the headers; call once before the first frame. */
  open (extraHeaders: Record<string, string> = {}): void {
    this.reply.code(200).headers({ ...SSE_HEADERS, ...extraHeaders })
    void this.reply.send(this.body)
    this.opts.registry?.add(this)
    this.armHeartbeat()
  }

  /** The client can no longer be written to. */
  get closed (): boolean { return this.ended || this.gone }

  /** True once shutdown asked this stream to stop: end it with an error frame. */
  get shuttingDown (): boolean { return this.stopping }

  shutdown (): void {
    this.stopping = true
    this.aborter.abort()
  }

  // The writes return a promise only when the socket is full (await it: backpressure);
  // otherwise nothing, so a frame costs no promise of its own.

  /** Writes one frame; the promise, if any, resolves when the socket can take more. */
  send (frame: unknown): Promise<void> | undefined {
    return this.write(`data: ${JSON.stringify(frame)}\n\n`)
  }

  /** A heartbeat comment now, e.g. when the upstream sends its own keep-alive (Coze PING). */
  ping (): Promise<void> | undefined {
    return this.write(': heartbeat\n\n')
  }

  /** A raw `data:` payload, for wire formats such as OpenAI's `[DONE]`. */
  sendRaw (payload: string): Promise<void> | undefined {
    return this.write(`data: ${payload}\n\n`)
  }

  end (): void {
    if (this.ended) return
    this.ended = true
    this.cleanup()
    this.body.end()
  }

  private write (text: string): Promise<void> | undefined {
    if (this.closed) return
    this.armHeartbeat()
    if (!this.body.write(text) && !this.signal.aborted) {
      return Promise.race([once(this.body, 'drain'), once(this.aborter.signal, 'abort')]).then(() => {})
    }
  }

  /** The heartbeat comes after heartbeatMs without a write: one timer per stream, refreshed by every write. */
  private armHeartbeat (): void {
    if (this.heartbeat) { this.heartbeat.refresh(); return }
    this.heartbeat = setTimeout(this.beat, this.opts.heartbeatMs)
    this.heartbeat.unref()
  }

  private readonly beat = (): void => {
    if (this.closed) return
    this.body.write(': heartbeat\n\n')
    this.heartbeat!.refresh()
  }

  private cleanup (): void {
    clearTimeout(this.heartbeat)
    this.opts.registry?.delete(this)
  }
}

/** How one client format writes a stream of pipeline events. */
export interface SseWire<E> {
  /** Writes the frames for one event (a promise: wait for it before the next). */
  event (sse: SseStream, ev: E): Promise<void> | undefined
  /** Writes the error frame(s). */
  error (sse: SseStream, err: GatewayError): Promise<void>
  /** Writes the closing frame(s) after success or error. */
  end (sse: SseStream): Promise<void>
}

/**
 * Relays `start(signal)`'s events as SSE. Errors before the first event are thrown (→ the
 * surface's JSON error with the right status); after it, they become the wire's error
 * frame, then its end frame. `signal` aborts when the client leaves or the gateway shuts down.
 */
export async function relaySse<E> (
  app: FastifyInstance,
  reply: FastifyReply,
  start: (signal: AbortSignal) => AsyncIterable<E>,
  wire: SseWire<E>,
  headers: Record<string, string> = {}
): Promise<FastifyReply> {
  // One of the key's max_streams, held until the stream ends (429 TOO_MANY_STREAMS before Coze).
  const release = await app.access.streamSlot(reply.request.principal)
  try {
    return await relay(app, reply, start, wire, headers)
  } finally {
    await release()
  }
}

async function relay<E> (
  app: FastifyInstance,
  reply: FastifyReply,
  start: (signal: AbortSignal) => AsyncIterable<E>,
  wire: SseWire<E>,
  headers: Record<string, string>
): Promise<FastifyReply> {
  const sse = new SseStream(reply, { heartbeatMs: app.config.SSE_HEARTBEAT_MS, registry: app.sseStreams })
  const it = start(sse.signal)[Symbol.asyncIterator]()
  let first: IteratorResult<E>
  try {
    first = await it.next()
  } catch (err) {
    if (err instanceof ClientAbortError && sse.shuttingDown) throw errors.shuttingDown()
    throw err
  }
  const { metrics } = app
  const obs = reply.request.observation
  const surface = reply.request.routeOptions.config.surface ?? 'api'
  obs.streamed = true
  sse.open(headers)
  metrics.streamOpened(surface)
  let outcome: StreamOutcome = 'completed'
  try {
    for (let r = first; !r.done; r = await it.next()) {
      const written = wire.event(sse, r.value)
      if (written) await written
      const t = obs.deltaWritten()
      if (t) metrics.firstDeltaSent(surface, t.first_delta_ms!, t.gateway_ms)
      if (sse.closed) break
    }
    if (sse.closed) outcome = 'client_gone'
  } catch (err) {
    if (!(err instanceof ClientAbortError) || sse.shuttingDown) {
      const e = err instanceof ClientAbortError ? errors.shuttingDown() : toClientError(err, { maxUploadMb: app.config.MAX_UPLOAD_MB, bodyLimitKb: app.config.BODY_LIMIT_KB })
      outcome = sse.shuttingDown ? 'shutdown' : 'error'
      obs.error = { code: e.code, coze_code: e.cozeCode, logid: e.logid }
      reply.log.warn({ code: e.code, coze_code: e.cozeCode, logid: e.logid }, `stream ended with an error: ${e.message}`)
      await wire.error(sse, e)
    } else {
      outcome = 'client_gone'
    }
  } finally {
    // Always: an iteration stopped early (client gone, a wire that refused an event) runs its finally blocks (locks, timers).
    await it.return?.(undefined)
    await wire.end(sse)
    sse.end()
    metrics.streamClosed(surface, outcome, performance.now() - obs.startedAt)
  }
  return reply
}
