// Relays a stream of pipeline events to the client as SSE, for every streaming route.
// Errors before the first event are thrown (→ JSON envelope with the right status);
// after it, they become the route's error frame, then its end frame.
import type { FastifyInstance, FastifyReply } from 'fastify'
import { ClientAbortError, GatewayError } from '../errors.js'
import { SseStream } from '../sse.js'
import { toClientError } from '../plugins/error-handler.js'

export interface SseWire<E> {
  /** Writes the frames for one event. */
  event (sse: SseStream, ev: E): Promise<void>
  /** Writes the error frame(s). */
  error (sse: SseStream, err: GatewayError): Promise<void>
  /** Writes the closing frame(s) after success or error. */
  end (sse: SseStream): Promise<void>
}

/** `start` receives the abort signal (client gone or shutdown) and returns the events. */
export async function relaySse<E> (
  app: FastifyInstance,
  reply: FastifyReply,
  start: (signal: AbortSignal) => AsyncIterable<E>,
  wire: SseWire<E>,
  headers: Record<string, string> = {}
): Promise<FastifyReply> {
  const sse = new SseStream(reply, { heartbeatMs: app.config.SSE_HEARTBEAT_MS, registry: app.sseStreams })
  const it = start(sse.signal)[Symbol.asyncIterator]()
  let first: IteratorResult<E>
  try {
    first = await it.next()
  } catch (err) {
    if (err instanceof ClientAbortError && sse.shuttingDown) throw shuttingDown()
    throw err
  }
  sse.open(headers)
  try {
    for (let r = first; !r.done; r = await it.next()) {
      await wire.event(sse, r.value)
      if (sse.closed) break
    }
  } catch (err) {
    if (!(err instanceof ClientAbortError) || sse.shuttingDown) {
      const e = err instanceof ClientAbortError ? shuttingDown() : toClientError(err, app.config.MAX_UPLOAD_MB)
      reply.log.warn({ code: e.code, coze_code: e.cozeCode, logid: e.logid }, `stream ended with an error: ${e.message}`)
      await wire.error(sse, e)
    }
  } finally {
    if (sse.closed) await it.return?.(undefined)
    await wire.end(sse)
    sse.end()
  }
  return reply
}

function shuttingDown (): GatewayError {
  return new GatewayError(503, 'SHUTTING_DOWN', 'The gateway is shutting down; retry the request.')
}
