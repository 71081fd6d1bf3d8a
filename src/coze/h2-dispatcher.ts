// COZE_HTTP2=true: the lean transport's dispatcher, whose streams share a few HTTP/2
// connections instead of holding a socket (and its file descriptor) each.
// - https: ALPN offers h2 then http/1.1. On an h2 connection undici runs up to
//   TLS_STREAMS_PER_CONNECTION streams, the least a server should allow (RFC 9113 §6.5.2
//   recommends a SETTINGS_MAX_CONCURRENT_STREAMS of at least 100); undici does not follow the
//   server's setting, and a stream over it would wait on the connection. On an HTTP/1.1
//   connection (no h2 offered), one request at a time, as without COZE_HTTP2.
// - http: h2c with prior knowledge (what undici's H2CClient sets up), H2C_STREAMS_PER_CONNECTION streams
//   each: for the emulator and Coze-compatible upstreams that speak it (Node's http2 server
//   sets no limit), 10,000 streams on 10 connections.
// The pool opens another connection when every connection is full.
import { Client, Pool, buildConnector, type Dispatcher } from 'undici'

export const TLS_STREAMS_PER_CONNECTION = 100
export const H2C_STREAMS_PER_CONNECTION = 1000
const CONNECT_TIMEOUT_MS = 10_000 // undici's default

export function createH2Dispatcher (base: URL, keepAliveTimeout: number): Dispatcher {
  if (base.protocol === 'http:') {
    // (the pool builds its clients' connector: useH2c must reach it, H2CClient's would not)
    return new Pool(base.origin, {
      keepAliveTimeout,
      allowH2: true,
      connect: { useH2c: true } as Pool.Options['connect'],
      maxConcurrentStreams: H2C_STREAMS_PER_CONNECTION,
      pipelining: H2C_STREAMS_PER_CONNECTION
    })
  }
  return new Pool(base.origin, { keepAliveTimeout, factory: tlsClient })
}

/** A TLS client that runs many streams once ALPN chose h2, one request at a time on HTTP/1.1. */
function tlsClient (origin: string | URL, opts: object): Dispatcher {
  const connect = buildConnector({ allowH2: true, timeout: CONNECT_TIMEOUT_MS })
  const client: Client = new Client(origin, {
    ...opts,
    maxConcurrentStreams: TLS_STREAMS_PER_CONNECTION,
    connect: (o, cb) => connect(o, (err, socket) => {
      if (socket) client.pipelining = (socket as { alpnProtocol?: string | false }).alpnProtocol === 'h2' ? TLS_STREAMS_PER_CONNECTION : 1
      cb(err, socket as never)
    })
  })
  return client
}
