// HTTP/2 with prior knowledge (h2c) on the HTTP/1.1 port: a front net.Server reads a new
// connection's first bytes; the HTTP/2 connection preface hands the socket to an http2
// server, anything else to the node:http one. Both run the same request listener on the
// same state, so the SDK (HTTP/1.1) and the gateway's lean transport (COZE_HTTP2=true) see
// one Coze.
import { createServer as createNetServer, type Server, type Socket } from 'node:net'
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http'
import { createServer as createH2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2'

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')

/** Accepted connections, by protocol, since the start (counts, not open ones). */
export interface ConnectionCounts { http1: number, h2c: number }

export interface DualServer {
  server: Server
  counts: ConnectionCounts
  /** destroys every connection, HTTP/1.1 and HTTP/2 */
  closeAllConnections (): void
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void

/** `listener` serves node:http2's compatibility request and response too (server.ts handles their differences). */
export function createDualServer (h1: HttpServer, listener: Listener): DualServer {
  const counts: ConnectionCounts = { http1: 0, h2c: 0 }
  // Node's http2 server sets no limit on concurrent streams: many quiet streams share a
  // connection (undici's h2c client puts up to 1,000 on each); the session memory cap
  // (10 MB by default) is raised to match.
  const h2: Http2Server = createH2Server({ maxSessionMemory: 512 }, listener as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void)
  const sessions = new Set<Http2Session>()
  // h1 never listens itself, so it does not track the sockets it is handed: tracked here
  const sockets = new Set<Socket>()
  h2.on('session', (s) => {
    sessions.add(s)
    s.once('close', () => sessions.delete(s))
  })
  const server = createNetServer({ noDelay: true }, (socket) => {
    let seen: Buffer = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk])
      const n = Math.min(seen.length, PREFACE.length)
      const h2c = seen.subarray(0, n).equals(PREFACE.subarray(0, n))
      if (h2c && seen.length < PREFACE.length) return // wait for the rest of the preface
      socket.off('data', onData)
      socket.off('error', onEarlyError)
      socket.pause()
      socket.unshift(seen)
      if (h2c) {
        counts.h2c++
        h2.emit('connection', socket)
        return
      }
      counts.http1++
      sockets.add(socket)
      socket.once('close', () => sockets.delete(socket))
      h1.emit('connection', socket)
      socket.resume() // node:http reads the unshifted bytes as 'data' once the socket flows again
    }
    const onEarlyError = (): void => { socket.destroy() }
    socket.on('data', onData)
    socket.on('error', onEarlyError)
  })
  return {
    server,
    counts,
    closeAllConnections () {
      for (const s of sockets) s.destroy()
      for (const s of sessions) s.destroy()
    }
  }
}
