import type { IncomingMessage, ServerResponse } from 'node:http'
import { constants as h2constants } from 'node:http2'
import type { Ctx, RecordedRequest, RouteDef, Runtime, Upload } from './runtime.js'
import { Stopper } from './runtime.js'
import { CozeFault } from './errors.js'
import { newLogId } from './ids.js'
import { reservedFault } from './faults.js'
import { boundaryOf, parseMultipart } from './multipart.js'
import { sendCozeError, sendHttpStatus, sendJson } from './respond.js'
import { ANONYMOUS, authenticate, bearerOf } from './auth.js'

const { NGHTTP2_INTERNAL_ERROR } = h2constants
const MAX_JSON_BYTES = 16 * 1024 * 1024
export const MAX_RECORDED = 1000

type Method = 'GET' | 'POST' | 'DELETE'

interface Pattern { method: Method; re: RegExp; route: RouteDef }

export class Router {
  private readonly exact = new Map<string, RouteDef>()
  private readonly patterns: Pattern[] = []

  constructor (routes: RouteDef[]) {
    for (const r of routes) {
      const methods = Array.isArray(r.method) ? r.method : [r.method]
      for (const m of methods) {
        if (typeof r.path === 'string') this.exact.set(`${m} ${r.path}`, r)
        else this.patterns.push({ method: m, re: r.path, route: r })
      }
    }
  }

  find (method: string, path: string): { route: RouteDef; params: string[] } | undefined {
    const r = this.exact.get(`${method} ${path}`)
    if (r) return { route: r, params: [] }
    for (const p of this.patterns) {
      if (p.method !== method) continue
      const m = p.re.exec(path)
      if (m) return { route: p.route, params: m.slice(1).map((s) => safeDecode(s ?? '')) }
    }
    return undefined
  }
}

function safeDecode (s: string): string {
  if (!s.includes('%')) return s
  try { return decodeURIComponent(s) } catch { return s }
}

/** The SDK builds query strings by hand without encoding: split, and decode only what decodes. */
export function parseQuery (qs: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (!qs) return out
  for (const part of qs.split('&')) {
    if (!part) continue
    const i = part.indexOf('=')
    if (i < 0) out[safeDecode(part)] = ''
    else out[safeDecode(part.slice(0, i))] = safeDecode(part.slice(i + 1))
  }
  return out
}

function readBody (req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let tooLarge = false
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > limit) tooLarge = true
      else chunks.push(c)
    })
    req.once('end', () => resolve(tooLarge ? 'too_large' : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)))
    req.once('error', reject)
  })
}

/** An HTTP/2 request (node:http2's compatibility API, which the listener also serves). */
interface H2Parts { stream?: { endAfterHeaders: boolean, destroyed: boolean, close (code: number): void } }
const h2Of = (x: IncomingMessage | ServerResponse): H2Parts['stream'] => (x as H2Parts).stream

function hasBody (req: IncomingMessage): boolean {
  const h2 = h2Of(req)
  if (h2) return !h2.endAfterHeaders
  const len = req.headers['content-length']
  return (len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined
}

/** A response whose client left (node:http2's response has no `destroyed`: its stream's). */
function gone (res: ServerResponse): boolean {
  return res.destroyed || h2Of(res)?.destroyed === true
}

/** The header lines as HTTP/1.1 would carry them: HTTP/2's pseudo-headers dropped, `:authority` as host. */
function h1Headers (req: IncomingMessage): { headers: IncomingMessage['headers'], rawHeaders: string[] } {
  const headers: IncomingMessage['headers'] = {}
  const rawHeaders: string[] = []
  const authority = req.headers[':authority']
  if (typeof authority === 'string' && req.headers.host === undefined) { headers.host = authority; rawHeaders.push('host', authority) }
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!
    if (name.startsWith(':')) continue
    rawHeaders.push(name, req.rawHeaders[i + 1]!)
  }
  for (const [k, v] of Object.entries(req.headers)) if (!k.startsWith(':')) headers[k] = v
  return { headers, rawHeaders }
}

function parseBody (raw: Buffer, contentType: string | undefined): Record<string, unknown> {
  if (raw.length === 0) return {}
  const text = raw.toString('utf8')
  if (contentType && /application\/x-www-form-urlencoded/i.test(contentType)) {
    return Object.fromEntries(new URLSearchParams(text))
  }
  if (text.trim() === '') return {}
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch { throw new CozeFault(4000, 'The request body is not valid JSON.') }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CozeFault(4000, 'The request body must be a JSON object.')
  return parsed as Record<string, unknown>
}

export function createRequestListener (rt: Runtime, router: Router, requests: RecordedRequest[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const logid = newLogId()
    const url = req.url ?? '/'
    const qi = url.indexOf('?')
    let path = qi < 0 ? url : url.slice(0, qi)
    if (path.includes('//')) path = path.replace(/\/{2,}/g, '/')
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
    const method = req.method ?? 'GET'
    const { headers, rawHeaders } = req.httpVersionMajor === 2 ? h1Headers(req) : req
    const rec: RecordedRequest = {
      method,
      path,
      query: qi < 0 ? {} : parseQuery(url.slice(qi + 1)),
      headers,
      httpVersion: req.httpVersion,
      url,
      rawHeaders,
      body: undefined,
      rawBody: undefined,
      aborted: false,
      finished: false,
      receivedAt: performance.now(),
      finishedAt: undefined
    }
    requests.push(rec)
    if (requests.length > MAX_RECORDED) requests.shift()
    let cutByServer = false
    // (node:http2's response emits finish and says writableFinished once its stream closed,
    // reset or not: writableEnded tells)
    res.once('finish', () => { if (res.writableEnded) { rec.finished = true; rec.finishedAt = performance.now() } })
    res.once('close', () => { if (!(res.writableFinished && res.writableEnded) && !cutByServer && !rt.closing) rec.aborted = true })

    const found = router.find(method, path)
    if (!found) {
      sendJson(res, logid, { code: 4200, msg: `Not Found: ${method} ${path}`, detail: { logid } }, 404)
      return
    }
    const { route, params } = found
    const ctx: Ctx = { rt, req, res, rec, logid, method, path, query: rec.query, body: {}, upload: undefined, params, principal: ANONYMOUS, fault: undefined, deltaMs: undefined }

    const run = async (): Promise<void> => {
      if (hasBody(req)) {
        const limit = route.upload ? rt.opts.maxFileBytes + 1024 * 1024 : MAX_JSON_BYTES
        const raw = await readBody(req, limit)
        if (raw === 'too_large') throw new CozeFault(4000, `The request body exceeds ${limit} bytes.`)
        if (!route.upload) rec.rawBody = raw.toString('utf8')
        const boundary = route.upload ? boundaryOf(req.headers['content-type']) : undefined
        if (boundary) {
          const part = parseMultipart(raw, boundary).find((p) => p.name === 'file')
          if (part) {
            const up: Upload = { fileName: part.fileName, contentType: part.contentType, data: Buffer.from(part.data) }
            ctx.upload = up
            rec.body = { fileName: up.fileName, bytes: up.data.length, contentType: up.contentType }
          }
        } else {
          ctx.body = parseBody(raw, req.headers['content-type'])
          rec.body = ctx.body
        }
      }

      const token = bearerOf(req.headers.authorization)
      if (!route.ownAuth) {
        const who = authenticate(rt, token)
        if (who instanceof CozeFault) {
          sendCozeError(res, logid, who.code, who.msg)
          return
        }
        ctx.principal = who
      }

      if (!route.control) {
        const fault = rt.faults.take(path, token) ?? (route.faultIdField ? reservedFault(ctx.body[route.faultIdField]) : undefined)
        if (fault) {
          switch (fault.kind) {
            case 'latency':
              if (fault.headersMs && fault.headersMs > 0) {
                const s = new Stopper(rt.live)
                await s.sleep(fault.headersMs)
                s.dispose()
                if (s.stopped || gone(res)) return
              }
              if (fault.deltaMs !== undefined) ctx.deltaMs = fault.deltaMs
              break
            case 'coze_error':
              sendCozeError(res, logid, fault.code, fault.msg)
              return
            case 'http_status':
              sendHttpStatus(res, logid, fault.status, undefined, fault.retryAfter)
              return
            case 'reset':
              cutByServer = true
              // HTTP/2: the stream is reset (RST_STREAM), not the connection other streams share
              if (h2Of(req)) h2Of(req)!.close(NGHTTP2_INTERNAL_ERROR)
              else req.socket.destroy()
              return
            case 'hang':
              return
            case 'stream_error':
            case 'chat_failed':
              if (!route.streamable) {
                sendCozeError(res, logid, fault.code ?? 5000, fault.msg)
                return
              }
              ctx.fault = fault
              break
            default:
              ctx.fault = fault
          }
        }
      }
      await route.handler(ctx)
    }

    run().catch((err: unknown) => {
      if (res.headersSent || gone(res)) {
        if (!res.writableEnded) res.destroy()
        return
      }
      if (err instanceof CozeFault) sendCozeError(res, logid, err.code, err.msg)
      else sendCozeError(res, logid, 5000)
    })
  }
}
