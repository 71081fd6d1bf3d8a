// A gateway on a real emulator, for tests: no mocks anywhere.
import { Writable } from 'node:stream'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createParser, type EventSourceMessage } from 'eventsource-parser'
import pino from 'pino'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.js'

export const DEFAULT_BOT = '7537334510896185359'

/**
 * The sqlite session file of this test file's stacks (vitest loads this module once per
 * test file): stacks started again in one file share it (restart tests), while other test
 * files and earlier runs never leak sessions into it. Pass SESSION_DB_PATH to choose.
 * It lives in the run's scratch directory (os.tmpdir() under test/helpers/global-setup.ts),
 * removed when the run ends.
 */
export const TEST_SESSION_DB = join(tmpdir(), `coze-gw-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}.db`)

export interface Stack {
  app: FastifyInstance
  emu: Emulator
  config: Config
  /** Every log line the gateway wrote, raw JSON text. */
  logs: string[]
  close (): Promise<void>
}

const OWN_CREDENTIALS = ['COZE_API_TOKENS', 'COZE_OAUTH_CONFIG_FILE', 'COZE_OAUTH_APP_ID']

export async function startStack (env: Record<string, string> = {}, emuOpts: EmulatorOptions = {}): Promise<Stack> {
  const emu = await startEmulator(emuOpts)
  const config = loadConfig({
    ENABLE_RATE_LIMIT: 'false',
    LOG_LEVEL: 'info',
    COZE_BOT_ID: DEFAULT_BOT,
    SESSION_DB_PATH: TEST_SESSION_DB,
    // the vitest project unit-sdk runs the chat, workflow and OpenAI tests on the SDK transport
    ...(process.env.COZE_TRANSPORT ? { COZE_TRANSPORT: process.env.COZE_TRANSPORT } : {}),
    ...env,
    COZE_API_BASE: env.COZE_API_BASE ?? emu.url,
    // The emulator's token, unless the test names its own credentials (a pool, OAuth apps).
    COZE_API_TOKEN: env.COZE_API_TOKEN ?? (OWN_CREDENTIALS.some((k) => env[k]) ? '' : emu.token)
  }, { upstreamMode: 'emulator' })
  const logs: string[] = []
  const sink = new Writable({ write (chunk, _enc, cb) { logs.push(String(chunk)); cb() } })
  const app = await buildApp(config, { logger: pino({ level: config.LOG_LEVEL }, sink) })
  await app.ready()
  return {
    app, emu, config, logs,
    async close () { await app.close(); await emu.close() }
  }
}

export interface SseFrame { type: string, [k: string]: unknown }

/**
 * The events of a whole SSE body, parsed by eventsource-parser; comment lines (heartbeats)
 * come in order as { comment }. Throws on a malformed body: an unknown field, or an event
 * left unterminated at the end (a frame cut in the middle).
 */
export function sseEvents (body: string): Array<EventSourceMessage | { comment: string }> {
  const out: Array<EventSourceMessage | { comment: string }> = []
  const parser = createParser({
    onEvent: (e) => { out.push(e) },
    onComment: (comment) => { out.push({ comment }) },
    onError: (err) => { throw err }
  })
  parser.feed(body)
  // a blank line more would end an event still open: one the body never finished
  const complete = out.length
  parser.feed('\n\n')
  if (out.length > complete) throw new Error(`SSE body ends inside an event: ${JSON.stringify(out.slice(complete))}`)
  return out
}

/** The data of every event of an SSE body, comments left out. */
export function sseData (body: string): string[] {
  return sseEvents(body).flatMap((e) => 'comment' in e ? [] : [e.data])
}

/** The gateway's frames of an SSE body: each event's data as JSON; comment lines (heartbeats) as { type: ':comment' }. */
export function parseSse (body: string): SseFrame[] {
  return sseEvents(body).map((e) => 'comment' in e ? { type: ':comment', text: e.comment } : JSON.parse(e.data) as SseFrame)
}

/** A streaming response's frames as they arrive, each with its arrival time (performance.now()). */
export async function timedFrames (res: Response): Promise<Array<{ at: number, frame: SseFrame }>> {
  const out: Array<{ at: number, frame: SseFrame }> = []
  const parser = createParser({ onEvent: (e) => { out.push({ at: performance.now(), frame: JSON.parse(e.data) as SseFrame }) } })
  const decoder = new TextDecoder()
  for await (const chunk of res.body!) parser.feed(decoder.decode(chunk, { stream: true }))
  return out
}

export const userMsg = (content: string) => ({ role: 'user' as const, content })
