// Bounds on what a client can hold open, so slow or broken clients cannot starve the others:
// - the server's timeouts (serverTimeouts): headers within HTTP_REQUEST_TIMEOUT_MS, idle
//   keep-alive connections closed after KEEP_ALIVE_TIMEOUT_MS, Node's own request timeout
//   as a backstop, checked every second at most;
// - a deadline for the body of every request that has one: HTTP_REQUEST_TIMEOUT_MS, or
//   UPLOAD_TIMEOUT_MS on routes marked `config: { upload: true }`. Past it: 400
//   INCOMPLETE_BODY and the connection is closed (a trickled or withheld body, a
//   Content-Length longer than the body). A response may stream for as long as it needs;
// - MAX_CONNECTIONS_PER_IP: past it, a direct client's new connection is closed at once;
//   behind a trusted proxy (whose connections are shared) the requests in flight per
//   forwarded client IP are counted instead, and the one over the cap gets 429;
// - HTTP-level errors that never reach a route (431, 408, malformed requests) and OPTIONS
//   requests that are not CORS preflights answer the error envelope, not Fastify's bodies.
import type { Socket } from 'node:net'
import { STATUS_CODES, type ServerOptions } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { Config } from '../config.js'
import { errors, type GatewayError } from '../errors.js'
import type { TrustFn } from '../trust-proxy.js'
import { errorBody } from '../wires/api.js'
import { sendError, surfaceForPath } from './error-handler.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the body missed its deadline; routes that read the body themselves (uploads) throw it. */
    bodyTimedOut: GatewayError | null
  }
  interface FastifyContextConfig {
    /** The route takes uploads: its body has UPLOAD_TIMEOUT_MS, not HTTP_REQUEST_TIMEOUT_MS. */
    upload?: boolean
  }
}

/** The Fastify (and Node http.Server) timeout options from the config. */
export function serverTimeouts (c: Config): Pick<FastifyServerOptions, 'connectionTimeout' | 'keepAliveTimeout' | 'requestTimeout'> & { http: ServerOptions } {
  // Node's own whole-request timeout is only the backstop: headers, then the longest body deadline.
  const requestTimeout = c.HTTP_REQUEST_TIMEOUT_MS + Math.max(c.HTTP_REQUEST_TIMEOUT_MS, c.UPLOAD_TIMEOUT_MS)
  return {
    // A connection that sends nothing; from its first request on, the deadlines below apply.
    connectionTimeout: c.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: c.KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout,
    http: {
      requestTimeout,
      headersTimeout: c.HTTP_REQUEST_TIMEOUT_MS,
      // Node checks these timeouts on this interval (default 30 s): make them fire within a second.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(c.HTTP_REQUEST_TIMEOUT_MS / 2)))
    }
  }
}

/** Fastify's clientErrorHandler: errors of the HTTP parser, before any route, as an envelope. */
export function clientErrorHandler (this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // The client went away (reset, or closed mid-request): nothing to answer, nothing it did wrong.
  if (err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE' || socket.destroyed) { socket.destroy(); return }
  const e = err.code === 'HPE_HEADER_OVERFLOW'
    ? errors.headersTooLarge()
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? errors.requestTimeout(this.config.HTTP_REQUEST_TIMEOUT_MS, 'HTTP_REQUEST_TIMEOUT_MS')
      : errors.malformedHttp()
  this.log.info({ statusCode: e.statusCode, code: e.code, reason: err.code }, `refused: ${e.message}`)
  // A response already under way cannot be replaced.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(errorBody(e))
    socket.write(`HTTP/1.1 ${e.statusCode} ${STATUS_CODES[e.statusCode] ?? ''}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

export default fp(async function requestLimits (app: FastifyInstance, opts: { trust: TrustFn | false }) {
  const config = app.config
  app.decorateRequest('bodyTimedOut', null)

  // Not a preflight: answered here, before @fastify/cors would send its text/plain 400.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method !== 'OPTIONS' || (request.headers.origin && request.headers['access-control-request-method'])) return done()
    sendError(request, reply, errors.notPreflight(), surfaceForPath(request.url), config)
  })

  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw
    // From the first request on, a socket is bounded by the deadlines, not by its idle time:
    // a long answer (a sync workflow run) may be silent for minutes.
    if (typeof raw.socket?.setTimeout === 'function') raw.socket.setTimeout(0)
    const length = request.headers['content-length']
    const declared = length === undefined ? undefined : Number(length)
    if (raw.complete || (declared === undefined ? request.headers['transfer-encoding'] === undefined : !(declared > 0))) return done()
    const upload = request.routeOptions.config.upload === true
    const ms = upload ? config.UPLOAD_TIMEOUT_MS : config.HTTP_REQUEST_TIMEOUT_MS
    const timer = setTimeout(() => {
      if (raw.complete) return
      const err = errors.incompleteBody(declared, ms, upload ? 'UPLOAD_TIMEOUT_MS' : 'HTTP_REQUEST_TIMEOUT_MS')
      request.bodyTimedOut = err
      // Answered already (the route did not need the body): only the connection is left to close.
      if (reply.sent || reply.raw.headersSent) { raw.socket?.destroy(); return }
      // Whoever reads the body (Fastify's body parser, the multipart reader) fails with the
      // error, and the answer goes out through the error handler with `connection: close`.
      if (raw.listenerCount('error') > 0) raw.emit('error', err)
      else raw.socket?.destroy()
    }, ms)
    timer.unref()
    raw.once('end', () => clearTimeout(timer))
    reply.raw.once('close', () => { if (raw.complete) clearTimeout(timer) })
    done()
  })

  const max = config.MAX_CONNECTIONS_PER_IP
  if (max > 0) limitConnections(app, max, opts.trust)
}, { name: 'request-limits' })

function limitConnections (app: FastifyInstance, max: number, trust: TrustFn | false): void {
  const isProxy = (addr: string | undefined) => addr !== undefined && trust !== false && trust(addr, 0)
  let lastLogged = 0
  const count = (m: Map<string, number>, key: string, by: number) => {
    const n = (m.get(key) ?? 0) + by
    if (n <= 0) m.delete(key)
    else m.set(key, n)
    return n
  }

  const sockets = new Map<string, number>()
  app.server.on('connection', (sock: Socket) => {
    const ip = sock.remoteAddress
    if (ip === undefined || isProxy(ip)) return
    if (count(sockets, ip, 1) > max) {
      count(sockets, ip, -1)
      if (Date.now() - lastLogged > 10_000) {
        lastLogged = Date.now()
        app.log.info({ ip, max }, 'connection closed: too many open connections from this IP (MAX_CONNECTIONS_PER_IP)')
      }
      sock.destroy()
      return
    }
    sock.once('close', () => count(sockets, ip, -1))
  })

  if (trust === false) return
  const inFlight = new Map<string, number>()
  app.addHook('onRequest', (request, reply, done) => {
    if (!isProxy(request.raw.socket?.remoteAddress)) return done()
    const ip = request.ip
    if (count(inFlight, ip, 1) > max) {
      count(inFlight, ip, -1)
      return done(errors.tooManyConnections(max))
    }
    reply.raw.once('close', () => count(inFlight, ip, -1))
    done()
  })
}
