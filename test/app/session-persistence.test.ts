// The embedded (sqlite) store survives a gateway restart; expiry removes records for real.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import pino from 'pino'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { startEmulator, type Emulator } from '../../src/emulator/index.js'
import { DEFAULT_BOT, userMsg } from '../helpers/stack.js'

/** A gateway on an existing emulator (so Coze keeps its conversations across the restart). */
async function gateway (emu: Emulator, env: Record<string, string>): Promise<FastifyInstance> {
  const config = loadConfig({ ENABLE_RATE_LIMIT: 'false', COZE_BOT_ID: DEFAULT_BOT, COZE_API_BASE: emu.url, COZE_API_TOKEN: emu.token, ...env }, { upstreamMode: 'emulator' })
  const app = await buildApp(config, { logger: pino({ level: 'silent' }) })
  await app.ready()
  return app
}

const chat = (app: FastifyInstance, sessionId: string, text: string) =>
  app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', session_id: sessionId, messages: [userMsg(text)] } })

let emu: Emulator
let dir: string
beforeAll(async () => { emu = await startEmulator(); dir = mkdtempSync(join(tmpdir(), 'gw-sessions-')) })
afterAll(async () => { await emu.close(); rmSync(dir, { recursive: true, force: true }) })

describe('sqlite session store', () => {
  it('is the default, in a file under ./data', () => {
    const c = loadConfig({})
    expect(c.SESSION_STORE).toBe('sqlite')
    expect(c.SESSION_DB_PATH).toBe('./data/sessions.db')
    expect(c.SESSION_TTL).toBe(1800)
  })

  it('bad session settings stop the start with a message naming the variable', () => {
    expect(() => loadConfig({ SESSION_STORE: 'redis' })).toThrow(/REDIS_URL: required with SESSION_STORE=redis/)
    expect(() => loadConfig({ SESSION_STORE: 'mongo' })).toThrow(/SESSION_STORE/)
    expect(() => loadConfig({ SESSION_TTL: '0' })).toThrow(/SESSION_TTL/)
  })

  it('survives a restart of the gateway: the session, its conversation and the context are still there', async () => {
    const env = { SESSION_STORE: 'sqlite', SESSION_DB_PATH: join(dir, 'restart', 'sessions.db') }
    const a = await gateway(emu, env)
    const first = (await chat(a, 'survivor', 'remember: blue')).json()
    const before = (await a.inject({ url: '/api/v1/sessions/survivor?user_id=u1' })).json().data
    await a.close()

    const b = await gateway(emu, env)
    try {
      const after = await b.inject({ url: '/api/v1/sessions/survivor?user_id=u1' })
      expect(after.statusCode).toBe(200)
      expect(after.json().data).toEqual(before)
      const next = (await chat(b, 'survivor', 'what did I ask you to remember?')).json()
      expect(next.conversation_id).toBe(first.conversation_id)
      expect(next.data.content).toContain('Turn 2. You said: "what did I ask you to remember?". Earlier you said: "remember: blue"')
      // ownership is remembered too
      expect((await b.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u2', conversation_id: first.conversation_id, messages: [userMsg('x')] } })).statusCode).toBe(404)
    } finally {
      await b.close()
    }
  })

  it('expiry (SESSION_TTL of inactivity) removes the record: 404, and the row is gone from the file', async () => {
    const path = join(dir, 'expiry.db')
    const app = await gateway(emu, { SESSION_STORE: 'sqlite', SESSION_DB_PATH: path, SESSION_TTL: '1' })
    try {
      await chat(app, 'short-lived', 'hi')
      await chat(app, 'kept-alive', 'hi')
      const raw = new Database(path, { readonly: true })
      const rows = () => (raw.prepare('SELECT session_id FROM sessions ORDER BY session_id').all() as Array<{ session_id: string }>).map((r) => r.session_id)
      expect(rows()).toEqual(['kept-alive', 'short-lived'])
      // activity moves the expiry: keep one session busy while the other goes idle
      const started = Date.now()
      while (Date.now() - started < 2600) {
        await new Promise((resolve) => setTimeout(resolve, 300))
        expect((await chat(app, 'kept-alive', 'still here')).statusCode).toBe(200)
        if (!rows().includes('short-lived')) break
      }
      expect(rows()).toEqual(['kept-alive'])
      expect((await app.inject({ url: '/api/v1/sessions/short-lived?user_id=u1' })).statusCode).toBe(404)
      expect((await app.inject({ url: '/api/v1/sessions/kept-alive?user_id=u1' })).statusCode).toBe(200)
      raw.close()
      // the expired id starts a new session (Turn 1), not the old conversation
      expect((await chat(app, 'short-lived', 'back again')).json().data.content).toMatch(/^Turn 1\./)
    } finally {
      await app.close()
    }
  })
})
