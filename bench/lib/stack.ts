// The servers under test, each in its own process: the Coze emulator, the gateway, the
// minimal pass-through proxy and the bare SDK server; and the request bodies they take.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, readyLine, spawnNode, waitForStatus, ROOT, type Proc } from './proc.js'

/** Scratch space of this run (the gateways' session databases); removed by cleanupScratch(). */
export const SCRATCH = mkdtempSync(path.join(os.tmpdir(), 'coze-bench-'))
export const cleanupScratch = () => rmSync(SCRATCH, { recursive: true, force: true })

export const BOT = '7537334510896185359'
export const USER = 'bench-user'
/** 14 words: the emulator's default bot answers it in 20 deltas (one per word). */
export const QUESTION = 'please tell me a short story about a cat who learned to read books'
export const EXPECTED_DELTAS = 20
/** Scenario 3's question: a short answer (8 deltas), so thousands of slow streams stay cheap to feed. */
export const SHORT_QUESTION = 'hello there'
export const SHORT_DELTAS = 8

export interface Server { name: string, proc: Proc, url: string }

export interface Emu extends Server { token: string }

export async function startEmu (): Promise<Emu> {
  const proc = spawnNode('emulator', 'bench/emulator.ts', [], { ts: true, manyFiles: true })
  const r = await readyLine(proc)
  return { name: 'emulator', proc, url: String(r.url), token: String(r.token) }
}

export interface GatewayEntry {
  /** path from the repo root */
  script: string
  /** run through tsx (smoke runs use the sources, the real run the built dist/) */
  ts: boolean
  /** node flags the start command gives (e.g. --enable-source-maps) */
  nodeFlags: string[]
}

/**
 * What `npm start` runs (package.json's scripts.start, `node [flags] <script>`): the one
 * place the benchmark learns how the gateway starts, so a new build (a bundle in dist/)
 * or a new flag is measured as shipped, with no change here.
 */
export const START_ENTRY: GatewayEntry = startEntry()
export const SRC_ENTRY: GatewayEntry = { script: 'src/server.ts', ts: true, nodeFlags: [] }

function startEntry (): GatewayEntry {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }
  const start = pkg.scripts?.start ?? ''
  const words = start.trim().split(/\s+/)
  if (words[0] !== 'node' || words.length < 2) throw new Error(`package.json's start script is not \`node [flags] <script>\` (${JSON.stringify(start)}): tell bench/lib/stack.ts how the gateway starts`)
  const script = words[words.length - 1]!
  return { script, ts: false, nodeFlags: words.slice(1, -1) }
}

/** The same gateway code (dist/ or src/ as `entry`) with streams through the SDK on axios's http adapter: the "before" of the undici adapter and of the lean transport. */
export function beforeUndiciEntry (entry: GatewayEntry): { entry: GatewayEntry, env: Record<string, string> } {
  return { entry: { script: 'bench/gateway-variant.mjs', ts: entry.ts, nodeFlags: entry.nodeFlags }, env: { GATEWAY_CODE: entry.ts ? 'src' : 'dist', STREAM_TRANSPORT: 'http', COZE_TRANSPORT: 'sdk' } }
}

/** Why the "before" gateway cannot run (it imports the unbundled modules dist/app.js…), or undefined. */
export function beforeUndiciMissing (entry: GatewayEntry): string | undefined {
  const app = entry.ts ? 'src/app.ts' : 'dist/app.js'
  return existsSync(path.join(ROOT, app)) ? undefined : `${app} is missing (bench/gateway-variant.mjs imports the unbundled modules)`
}

export function gatewayEnv (emu: Emu, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    COZE_API_BASE: emu.url,
    COZE_API_TOKEN: emu.token,
    COZE_BOT_ID: BOT,
    ENABLE_RATE_LIMIT: 'false',
    // every load generator connects from loopback: 2,000 open streams from one IP
    MAX_CONNECTIONS_PER_IP: '0',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    NODE_ENV: 'production',
    // the default session store (sqlite), in a file of this run, not the repo's data/
    SESSION_DB_PATH: path.join(SCRATCH, `sessions-${port}.db`),
    ...extra
  }
}

export async function startGateway (emu: Emu, entry: GatewayEntry, opts: { env?: Record<string, string>, nodeFlags?: string[], name?: string } = {}): Promise<Server> {
  const port = await freePort()
  const proc = spawnNode(opts.name ?? 'gateway', path.join(ROOT, entry.script), [], { ts: entry.ts, manyFiles: true, nodeFlags: [...entry.nodeFlags, ...(opts.nodeFlags ?? [])], env: gatewayEnv(emu, port, opts.env) })
  const url = `http://127.0.0.1:${port}`
  await Promise.race([
    waitForStatus(`${url}/health`, 200, 90_000, 20),
    proc.exited.then((code) => { throw new Error(`gateway exited (${code}):\n${proc.output()}`) })
  ])
  return { name: opts.name ?? 'gateway', proc, url }
}

async function startHelper (name: string, script: string, emu: Emu): Promise<Server> {
  const proc = spawnNode(name, script, [], { ts: true, manyFiles: true, env: { UPSTREAM_URL: emu.url, UPSTREAM_TOKEN: emu.token } })
  const r = await readyLine(proc)
  return { name, proc, url: String(r.url) }
}

export const startMinimalProxy = (emu: Emu) => startHelper('minimal-proxy', 'bench/minimal-proxy.ts', emu)
export const startSdkDirect = (emu: Emu) => startHelper('sdk-direct', 'bench/sdk-direct.ts', emu)

/** The gateway's request body. */
export function gatewayBody (stream: boolean, botId = BOT, question = QUESTION): string {
  return JSON.stringify({ bot_id: botId, user_id: USER, messages: [{ role: 'user', content: question }], stream })
}

/** The raw Coze /v3/chat streaming body (what the gateway sends upstream). */
export function cozeBody (botId = BOT): string {
  return JSON.stringify({ bot_id: botId, user_id: USER, stream: true, additional_messages: [{ role: 'user', type: 'question', content: QUESTION, content_type: 'text' }] })
}

export const auth = (emu: Emu) => ({ authorization: `Bearer ${emu.token}` })
