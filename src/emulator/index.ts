import { createServer } from 'node:http'
import type { AddressInfo, Server } from 'node:net'
import { randomBytes } from 'node:crypto'
import type { RecordedRequest, RouteDef, Runtime } from './runtime.js'
import type { FaultController } from './faults.js'
import { FaultRegistry } from './faults.js'
import { Store } from './state.js'
import { Router, createRequestListener } from './server.js'
import { createDualServer, type ConnectionCounts } from './h2c.js'
import { chatRoutes } from './chat.js'
import { fileRoutes } from './files.js'
import { accountRoutes } from './account.js'
import { controlRoutes } from './control.js'
import { conversationRoutes } from './conversations.js'
import { botRoutes } from './bot-routes.js'
import { workflowRoutes } from './workflows.js'
import { workflowChatRoutes } from './workflow-chat.js'
import { audioRoutes } from './audio.js'
import type { OAuthApp, OAuthController } from './oauth.js'
import { OAuthState, oauthRoutes } from './oauth.js'
import type { PaceDeltas } from './pacing.js'
import { DEMO_PACE_DELTAS } from './pacing.js'

export type { Fault, FaultController, FaultMatch, FaultSpec } from './faults.js'
export type { RecordedRequest } from './runtime.js'
export type { ConnectionCounts } from './h2c.js'
export type { OAuthApp, OAuthController, MintedToken } from './oauth.js'
export type { PaceDeltas } from './pacing.js'
export { DEMO_PACE_DELTAS } from './pacing.js'
export { DEFAULT_BOT_ID, BOTS } from './bots.js'
export { CHATFLOWS, CHATFLOW_ECHO_ID, CHATFLOW_QUESTION_ID, CHATFLOW_REQUIRED_ID, CHATFLOW_QUESTION, CHATFLOW_REQUIRED_INPUT } from './chatflows.js'
export { VOICES, DEFAULT_VOICE_ID, VOICE_ID_EN, VOICE_ID_SMALL, CUSTOM_VOICE_ID } from './voices.js'
export { JWT_GRANT_TYPE, DEFAULT_DURATION_SECONDS, MAX_DURATION_SECONDS, ACCEPTED_AUDIENCES } from './oauth.js'

export interface EmulatorOptions {
  /** default 0 (random) */
  port?: number
  /** default '127.0.0.1' */
  host?: string
  /** accepted bearer tokens; default: one random token `emu_<hex>` */
  tokens?: string[]
  /** per-delta delay of the slow bot, default 200 */
  slowDeltaMs?: number
  /** per-delta delay of all other bots, default 0 */
  deltaDelayMs?: number
  /** how long an is_async workflow stays Running, default 50 */
  asyncWorkflowMs?: number
  /** total bytes of uploaded files kept (bounded memory, oldest evicted), default 64 MiB */
  maxFileBytes?: number
  /** OAuth service apps whose JWTs POST /api/permission/oauth2/token accepts */
  oauthApps?: OAuthApp[]
  /** minted tokens stop working after at most this many seconds, whatever expires_in announced */
  oauthTokenTtlSeconds?: number
  /** demo mode: bots pace deltas randomly in [minMs, maxMs] and cut CJK text small; default unpaced */
  paceDeltas?: PaceDeltas
  /** shorthand for paceDeltas DEMO_PACE_DELTAS (30-80 ms) */
  demo?: boolean
  /** the port also speaks HTTP/2 with prior knowledge (h2c), same routes, same state; default false */
  http2?: boolean
}

export interface Emulator {
  /** e.g. http://127.0.0.1:54321 (no trailing slash, usable as the SDK's baseURL) */
  url: string
  /** first accepted token */
  token: string
  /** every request, in arrival order; only the last 1,000 are kept */
  requests: RecordedRequest[]
  faults: FaultController
  /** the accepted static tokens, live: delete one to revoke it (4100), add it back to restore it */
  tokens: Set<string>
  /** OAuth JWT apps and the tokens minted for them */
  oauth: OAuthController
  /** connections accepted since the start, by protocol (h2c only with `http2: true`) */
  connections: ConnectionCounts
  setSlowDeltaMs(ms: number): void
  /** ends open streams and closes all sockets, so test runs never hang */
  close(): Promise<void>
}

const ROUTES: RouteDef[] = [
  ...chatRoutes, ...conversationRoutes, ...botRoutes, ...workflowRoutes, ...workflowChatRoutes, ...fileRoutes,
  ...accountRoutes, ...audioRoutes, ...oauthRoutes, ...controlRoutes
]

export async function startEmulator (opts: EmulatorOptions = {}): Promise<Emulator> {
  const tokens = opts.tokens && opts.tokens.length > 0 ? opts.tokens : [`emu_${randomBytes(16).toString('hex')}`]
  const faults = new FaultRegistry()
  const rt: Runtime = {
    opts: {
      slowDeltaMs: opts.slowDeltaMs ?? 200,
      deltaDelayMs: opts.deltaDelayMs ?? 0,
      asyncWorkflowMs: opts.asyncWorkflowMs ?? 50,
      maxFileBytes: opts.maxFileBytes ?? 64 * 1024 * 1024,
      paceDeltas: opts.paceDeltas ?? (opts.demo ? DEMO_PACE_DELTAS : undefined),
      oauthTokenTtlSeconds: opts.oauthTokenTtlSeconds
    },
    tokens: new Set(tokens),
    oauth: new OAuthState(opts.oauthApps ?? [], () => rt.opts.oauthTokenTtlSeconds),
    store: new Store(opts.maxFileBytes ?? 64 * 1024 * 1024),
    faults,
    openStreams: new Set(),
    live: new Set(),
    closing: false
  }
  const requests: RecordedRequest[] = []
  const listener = createRequestListener(rt, new Router(ROUTES), requests)
  const h1 = createServer({ noDelay: true, keepAliveTimeout: 65_000, headersTimeout: 66_000, requestTimeout: 0 }, listener)
  const dual = opts.http2 ? createDualServer(h1, listener) : undefined
  const server: Server = dual?.server ?? h1
  const connections: ConnectionCounts = dual?.counts ?? { http1: 0, h2c: 0 }
  if (!dual) h1.on('connection', () => { connections.http1++ })

  const host = opts.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const urlHost = host.includes(':') ? `[${host}]` : host
  const url = `http://${urlHost}:${port}`
  rt.oauth.ownAudiences = [`${urlHost}:${port}`, urlHost, url]

  let closed: Promise<void> | undefined
  return {
    url,
    token: tokens[0]!,
    requests,
    faults,
    tokens: rt.tokens,
    oauth: rt.oauth,
    connections,
    setSlowDeltaMs (ms: number) {
      rt.opts.slowDeltaMs = ms
    },
    close () {
      if (closed) return closed
      rt.closing = true
      closed = new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of [...rt.live]) s.stop('close')
        for (const sink of [...rt.openStreams]) sink.end()
        if (dual) dual.closeAllConnections()
        else h1.closeAllConnections()
      })
      return closed
    }
  }
}

/** For a standalone emulator process: close it (ending open streams) on SIGINT/SIGTERM, then exit. */
export function closeOnSignals (emu: Emulator): void {
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    void emu.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
