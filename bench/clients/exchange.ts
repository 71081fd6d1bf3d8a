// One HTTP exchange with a raw node:http client, timed: headers, every SSE frame (with
// the read that completed it), the end. Used by the latency, streaming and many-streams
// clients; no parsing beyond splitting frames, so the client costs the same on every target.
import http from 'node:http'

export type Format = 'json' | 'coze-sse' | 'gateway-sse'

export interface Target {
  name: string
  url: string
  body: string
  headers?: Record<string, string>
  format: Format
}

export interface Exchange {
  status: number
  /** ms from request start */
  headersMs: number
  endMs: number
  /** arrival time (ms from start) of each answer delta frame */
  deltaMs: number[]
  /** reads that completed more than one delta frame (coalesced deltas) */
  multiDeltaReads: number
  /** the stream ended properly: chat completed and done/end, or a 2xx JSON answer */
  complete: boolean
  error?: string
  bytes: number
}

const DELTA: Record<Format, string> = {
  json: '\u0000never',
  'coze-sse': 'event:conversation.message.delta',
  'gateway-sse': 'data: {"type":"message_delta"'
}

function isTerminal (format: Format, frame: string, seen: Set<string>): void {
  if (format === 'coze-sse') {
    if (frame.startsWith('event:conversation.chat.completed')) seen.add('completed')
    if (frame.startsWith('event:done')) seen.add('end')
  } else if (format === 'gateway-sse') {
    if (frame.startsWith('data: {"type":"chat_completed"')) seen.add('completed')
    if (frame === 'data: {"type":"end"}') seen.add('end')
  }
}

export interface Hooks {
  /** the response headers arrived */
  onHeaders? (): void
  /** the response is over (ended, failed or timed out) */
  onDone? (): void
}

export function exchange (t: Target, agent: http.Agent, timeoutMs = 30_000, hooks: Hooks = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const start = performance.now()
    const out: Exchange = { status: 0, headersMs: NaN, endMs: NaN, deltaMs: [], multiDeltaReads: 0, complete: false, bytes: 0 }
    const marker = DELTA[t.format]
    const seen = new Set<string>()
    let buf = ''
    let settled = false
    const done = (error?: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      hooks.onDone?.()
      out.endMs = performance.now() - start
      if (error) out.error = error
      if (t.format === 'json') out.complete = !error && out.status >= 200 && out.status < 300
      else out.complete = !error && out.status === 200 && seen.has('completed') && seen.has('end')
      resolve(out)
    }
    const req = http.request(t.url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(t.body), ...t.headers }
    }, (res) => {
      out.status = res.statusCode ?? 0
      out.headersMs = performance.now() - start
      hooks.onHeaders?.()
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        const now = performance.now() - start
        out.bytes += chunk.length
        if (t.format === 'json') return
        buf += chunk
        let deltasThisRead = 0
        for (let i = buf.indexOf('\n\n'); i !== -1; i = buf.indexOf('\n\n')) {
          const frame = buf.slice(0, i)
          buf = buf.slice(i + 2)
          if (frame.startsWith(marker)) { out.deltaMs.push(now); deltasThisRead++ } else isTerminal(t.format, frame, seen)
        }
        if (deltasThisRead > 1) out.multiDeltaReads++
      })
      res.on('end', () => done())
      res.on('error', (e) => done(e.message))
      res.on('aborted', () => done('aborted'))
    })
    const timer = setTimeout(() => { req.destroy(); done('timeout') }, timeoutMs)
    req.on('error', (e) => done([(e as NodeJS.ErrnoException).code, e.message].filter(Boolean).join(' ')))
    req.end(t.body)
  })
}
