// The real entry point as a process: refusing to start without a token, demo mode,
// and SIGTERM with an open stream.
//
// The server runs as `node --import tsx src/server.ts`, not through the `tsx` wrapper
// (which forks a second node that outlives a SIGKILL of the wrapper), in its own process
// group (test/helpers/processes.ts) with a scratch cwd, so neither a `.env` nor the
// default `./data/sessions.db` of the checkout is involved.
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { spawnGroup, stopAllGroups, stopGroup } from '../helpers/processes.js'
import { parseSse } from '../helpers/stack.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href
const SERVER = path.join(ROOT, 'src/server.ts')
const CWD = mkdtempSync(path.join(tmpdir(), 'server-process-'))

afterEach(stopAllGroups)
afterAll(() => rmSync(CWD, { recursive: true, force: true }))

function start (args: string[], env: Record<string, string>): { child: ChildProcess, output: () => string, url: Promise<string> } {
  const child = spawnGroup(process.execPath, ['--import', TSX_LOADER, SERVER, ...args], {
    cwd: CWD,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TMPDIR: tmpdir(),
      TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json'),
      PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SESSION_DB_PATH: path.join(CWD, 'sessions.db'),
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  const url = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += String(d)
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) resolve(m[1]!)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', () => reject(new Error(`exited before listening:\n${out}`)))
  })
  url.catch(() => {})
  return { child, output: () => out, url }
}

describe('the server process', () => {
  it('refuses to start without COZE_API_TOKEN, naming the variable and the demo command', async () => {
    const p = start([], { COZE_API_TOKEN: '' })
    const [code] = await once(p.child, 'exit')
    expect(code).toBe(1)
    expect(p.output()).toContain('COZE_API_TOKEN')
    expect(p.output()).toContain('npm run demo')
  })

  it('demo mode says so in the log, /health and /api/v1/config', async () => {
    const p = start(['--demo'], {})
    try {
      const url = await p.url
      expect(p.output()).toContain('DEMO MODE')
      const health = await (await fetch(`${url}/health`)).json() as any
      expect(health.upstream.mode).toBe('emulator')
      const config = await (await fetch(`${url}/api/v1/config`)).json() as any
      expect(config.data.upstream_mode).toBe('emulator')
      expect(config.data.features.demo_mode).toBe(true)
      const chat = await (await fetch(`${url}/api/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u', messages: [{ role: 'user', content: '你好' }] }) })).json() as any
      expect(chat.success).toBe(true)
    } finally { await stopGroup(p.child) }
  })

  it('npm run demo -- --oauth: the gateway is an OAuth JWT app, with a key pair made at start', async () => {
    const p = start(['--demo', '--oauth'], {})
    try {
      const url = await p.url
      const config = await (await fetch(`${url}/api/v1/config`)).json() as any
      expect(config.data.coze_auth).toMatchObject({ mode: 'oauth', app_id: expect.any(String) })
      expect(config.data.credentials).toEqual([expect.objectContaining({ kind: 'oauth', state: 'active' })])
      const chat = await (await fetch(`${url}/api/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u', messages: [{ role: 'user', content: '你好' }] }) })).json() as any
      expect(chat.success).toBe(true)
      expect(p.output()).not.toContain('PRIVATE KEY')
    } finally { await stopGroup(p.child) }
  })

  it('refuses to start with a PAT and an OAuth app both configured', async () => {
    const p = start([], { COZE_API_TOKEN: 'pat_x', COZE_OAUTH_APP_ID: '1', COZE_OAUTH_KEY_ID: 'k', COZE_OAUTH_PRIVATE_KEY_FILE: '/nonexistent.pem' })
    const [code] = await once(p.child, 'exit')
    expect(code).toBe(1)
    expect(p.output()).toContain('not both')
  })

  it('on SIGTERM ends an open stream with an error frame and end, and exits well within the grace delay', async () => {
    const p = start(['--demo'], { SHUTDOWN_GRACE_MS: '8000' })
    try {
      const url = await p.url
      const res = await fetch(`${url}/api/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u', bot_id: 'bot-slow-3000', messages: [{ role: 'user', content: 'one two three' }], stream: true }) })
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      const started = Date.now()
      const exit = once(p.child, 'exit') // before the signal: the exit may come before the stream's end
      p.child.kill('SIGTERM')
      const decoder = new TextDecoder()
      let text = ''
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        text += decoder.decode(value, { stream: true })
      }
      const [code] = await exit
      expect(Date.now() - started).toBeLessThan(4000)
      expect(code).toBe(0)
      const frames = parseSse(text).filter((f) => f.type !== ':comment')
      expect(frames.at(-2)).toMatchObject({ type: 'error', code: 'SHUTTING_DOWN' })
      expect(frames.at(-1)).toEqual({ type: 'end' })
    } finally { await stopGroup(p.child) }
  })
})
