import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FaultRegistry, StreamFault } from './faults.js'
import type { SseSink } from './sse.js'
import type { Store } from './state.js'
import type { OAuthState } from './oauth.js'
import type { Principal } from './auth.js'
import type { PaceDeltas } from './pacing.js'

export interface RuntimeOptions {
  slowDeltaMs: number
  deltaDelayMs: number
  asyncWorkflowMs: number
  maxFileBytes: number
  /** demo pacing of the bots' deltas; undefined = unpaced */
  paceDeltas: PaceDeltas | undefined
  /** caps the real lifetime of minted OAuth tokens (seconds); undefined = as asked */
  oauthTokenTtlSeconds: number | undefined
}

/** Everything a handler may touch: settings, state, faults and what close() must stop. */
export interface Runtime {
  opts: RuntimeOptions
  /** accepted static tokens (PATs); tests may add and delete at runtime */
  tokens: Set<string>
  oauth: OAuthState
  store: Store
  faults: FaultRegistry
  /** SSE responses still open; close() ends them */
  openStreams: Set<SseSink>
  /** pending sleeps (latency, paced deltas); close() wakes them */
  live: Set<Stopper>
  closing: boolean
}

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  headers: Record<string, string | string[] | undefined>
  /** '1.1', or '2.0' for HTTP/2 (h2c, with the emulator's `http2` option) */
  httpVersion: string
  /** the request target exactly as sent (path and query string) */
  url: string
  /** the header lines exactly as sent: name, value, name, value … in order, names in their own case */
  rawHeaders: string[]
  /** parsed JSON body, or for multipart {fileName, bytes, contentType}, or undefined */
  body: unknown
  /** the body's bytes as UTF-8 text, undefined when there is none */
  rawBody: string | undefined
  /** true if the client closed the connection before the response ended */
  aborted: boolean
  /** true once the response ended normally */
  finished: boolean
  /** performance.now() when the request arrived, and when its response was written whole */
  receivedAt: number
  finishedAt: number | undefined
}

export interface Upload {
  fileName: string | undefined
  contentType: string
  data: Buffer
}

export interface Ctx {
  rt: Runtime
  req: IncomingMessage
  res: ServerResponse
  rec: RecordedRequest
  logid: string
  method: string
  path: string
  query: Record<string, string>
  /** parsed JSON body ({} when empty) */
  body: Record<string, unknown>
  upload: Upload | undefined
  /** path parameters captured by the route pattern */
  params: string[]
  /** who is calling (set after auth) */
  principal: Principal
  /** a stream fault to play inside the response (or on its JSON body) */
  fault: StreamFault | undefined
  /** per-delta delay imposed by a latency fault */
  deltaMs: number | undefined
}

export type Handler = (ctx: Ctx) => void | Promise<void>

export interface RouteDef {
  method: 'GET' | 'POST' | 'DELETE' | Array<'GET' | 'POST' | 'DELETE'>
  /** exact path, or a pattern whose groups become ctx.params */
  path: string | RegExp
  handler: Handler
  /** the answer can be a stream: stream faults play inside it */
  streamable?: boolean
  /** body field holding a reserved `fault-…` id */
  faultIdField?: 'bot_id' | 'workflow_id' | 'voice_id'
  /** the handler authenticates the request itself (the OAuth token endpoint takes a JWT) */
  ownAuth?: boolean
  /** control endpoints: no fault injection */
  control?: boolean
  /** multipart upload: larger body limit */
  upload?: boolean
}

/** A cancellable sleep with a stop flag, used to pace streams and to stop them early. */
export class Stopper {
  stopped = false
  reason: 'cancel' | 'client' | 'close' | undefined
  private timer: NodeJS.Timeout | undefined
  private wake: (() => void) | undefined

  constructor (private readonly live: Set<Stopper>) {
    live.add(this)
  }

  sleep (ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve()
    return new Promise<void>((resolve) => {
      this.wake = resolve
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.wake = undefined
        resolve()
      }, ms)
    })
  }

  stop (reason: 'cancel' | 'client' | 'close'): void {
    if (this.stopped) return
    this.stopped = true
    this.reason = reason
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    const w = this.wake
    this.wake = undefined
    if (w) w()
  }

  /** forget it (the run is over) */
  dispose (): void {
    this.live.delete(this)
    if (this.timer) clearTimeout(this.timer)
  }
}
