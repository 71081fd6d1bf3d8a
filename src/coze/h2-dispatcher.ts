// COZE_HTTP2=true: the lean transport's dispatcher, whose streams share a few HTTP/2
// connections instead of holding a socket (and its file descriptor) each.
// - http: h2c with prior knowledge (what undici's H2CClient sets up), H2C_STREAMS_PER_CONNECTION
//   streams on each connection: for the emulator and Coze-compatible upstreams that speak
//   it (Node's http2 server sets no limit); 10,000 streams on 10 connections.
// - https: ALPN offers h2, then http/1.1. On an h2 connection, up to TLS_STREAMS_PER_CONNECTION
//   streams, the least a server should allow (RFC 9113 §6.5.2 recommends a
//   SETTINGS_MAX_CONCURRENT_STREAMS of at least 100; undici does not follow the server's
//   setting, and a stream over it would wait). On HTTP/1.1 (no h2 offered), one request per
//   connection, as without COZE_HTTP2. A new connection is taken to speak what the last one
//   negotiated (one request until the first has).
// A stream goes to the first connection with room, else to a new one. undici's Pool would
// open a connection per request while the first is still connecting (a client with requests
// pending counts as busy): 200 chats at once were 200 connections.
import { Client, buildConnector, type Dispatcher } from 'undici'

export const TLS_STREAMS_PER_CONNECTION = 100
export const H2C_STREAMS_PER_CONNECTION = 1000
const CONNECT_TIMEOUT_MS = 10_000 // undici's default

/** What the lean transport needs of a dispatcher. */
export interface StreamDispatcher {
  dispatch (opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean
  close (): Promise<void>
}

export function createH2Dispatcher (base: URL, keepAliveTimeout: number): StreamDispatcher {
  const clients: Client[] = []
  const h2c = base.protocol === 'http:'
  let streams = 1 // over TLS: what the last connection negotiated
  const make = h2c
    ? () => new Client(base.origin, { keepAliveTimeout, allowH2: true, useH2c: true, maxConcurrentStreams: H2C_STREAMS_PER_CONNECTION, pipelining: H2C_STREAMS_PER_CONNECTION } as Client.Options)
    : () => tlsClient(base.origin, keepAliveTimeout, streams, (n) => { streams = n })
  return {
    dispatch (opts, handler) {
      // (pipelining: the streams a connection may carry; over TLS, set once ALPN has chosen)
      let client = clients.find((c) => c.stats.size < c.pipelining)
      if (!client) {
        client = make()
        clients.push(client)
      }
      return client.dispatch(opts, handler)
    },
    async close () {
      await Promise.all(clients.map((c) => c.close()))
    }
  }
}

/** A TLS client that carries many streams once ALPN chose h2, one request at a time on HTTP/1.1. */
function tlsClient (origin: string, keepAliveTimeout: number, streams: number, onStreams: (n: number) => void): Client {
  const connect = buildConnector({ allowH2: true, timeout: CONNECT_TIMEOUT_MS })
  const client: Client = new Client(origin, {
    keepAliveTimeout,
    pipelining: streams,
    maxConcurrentStreams: TLS_STREAMS_PER_CONNECTION,
    connect: (o, cb) => connect(o, (err, socket) => {
      if (socket) {
        client.pipelining = (socket as { alpnProtocol?: string | false }).alpnProtocol === 'h2' ? TLS_STREAMS_PER_CONNECTION : 1
        onStreams(client.pipelining)
      }
      cb(err, socket as never)
    })
  })
  return client
}
