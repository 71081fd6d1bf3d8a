import type { ServerResponse } from 'node:http'

/** Chat framing (protocol §3): `event:X\ndata:<one-line JSON>\n\n`, no id, no comments. */
export function chatFrame (event: string, data: unknown): string {
  return `event:${event}\ndata:${JSON.stringify(data)}\n\n`
}

export const CHAT_DONE_FRAME = 'event:done\ndata:"[DONE]"\n\n'

/** Workflow framing (protocol §3 rule 3): `id: n`, `event: X`, `data: {...}`, with spaces. */
export function workflowFrame (id: number, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

/**
 * Where stream events go. A stream sink writes SSE frames; the null sink (non-stream calls
 * running in the background) drops them.
 */
export interface EventSink {
  /** false once the client left or the stream was ended */
  readonly open: boolean
  /** resolves when the frame is handed to the socket (waits for drain under backpressure) */
  write(frame: string): Promise<void> | undefined
  /** ends the response normally */
  end(): void
}

/** node:http2's response has no writableNeedDrain: its stream has. */
function needsDrain (res: ServerResponse): boolean {
  return res.writableNeedDrain ?? (res as { stream?: { writableNeedDrain: boolean } }).stream?.writableNeedDrain === true
}

export const NULL_SINK: EventSink = {
  open: true,
  write: () => undefined,
  end: () => undefined
}

export class SseSink implements EventSink {
  private ended = false
  private gone = false
  private drainWaiter: (() => void) | undefined
  /** frames written in this tick; they leave together in one chunk */
  private pending = ''
  private readonly flush = (): void => {
    if (this.pending === '') return
    const text = this.pending
    this.pending = ''
    if (!this.gone) this.res.write(text)
  }

  constructor (private readonly res: ServerResponse, logid: string, private readonly registry: Set<SseSink>) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      'x-tt-logid': logid
    })
    registry.add(this)
    res.once('close', () => {
      this.gone = true
      registry.delete(this)
      this.releaseDrain()
    })
  }

  get open (): boolean {
    return !this.ended && !this.gone
  }

  /**
   * Queues a frame. Frames written in the same tick go out as one chunk (one syscall);
   * a paced stream writes one frame per tick, so each delta still leaves at once.
   */
  write (frame: string): Promise<void> | undefined {
    if (!this.open) return undefined
    if (this.pending === '') setImmediate(this.flush)
    this.pending += frame
    if (!needsDrain(this.res)) return undefined
    return new Promise<void>((resolve) => {
      this.drainWaiter = resolve
      this.res.once('drain', () => this.releaseDrain())
    })
  }

  end (): void {
    if (this.ended) return
    this.ended = true
    this.registry.delete(this)
    if (this.gone) return
    const text = this.pending
    this.pending = ''
    if (text !== '') this.res.end(text)
    else this.res.end()
  }

  private releaseDrain (): void {
    const w = this.drainWaiter
    this.drainWaiter = undefined
    if (w) w()
  }
}
