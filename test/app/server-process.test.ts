// The real entry point as a process: refusing to start without a token, demo mode,
// and SIGTERM with an open stream.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { parseSse } from '../helpers/stack.js'

const TSX = 'node_modules/.bin/tsx'

function start (args: string[], env: Record<string, string>): { child: ChildProcess, output: () => string, url: Promise<string> } {
  const child = spawn(TSX, ['src/server.ts', ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
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
    } finally { p.child.kill('SIGKILL') }
  })

  it('on SIGTERM ends an open stream with an error frame and end, and exits well within the grace delay', async () => {
    const p = start(['--demo'], { SHUTDOWN_GRACE_MS: '8000' })
    try {
      const url = await p.url
      const res = await fetch(`${url}/api/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u', bot_id: 'bot-slow-3000', messages: [{ role: 'user', content: 'one two three' }], stream: true }) })
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      const started = Date.now()
      p.child.kill('SIGTERM')
      let text = ''
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        text += new TextDecoder().decode(value)
      }
      const [code] = await once(p.child, 'exit')
      expect(Date.now() - started).toBeLessThan(4000)
      expect(code).toBe(0)
      const frames = parseSse(text).filter((f) => f.type !== ':comment')
      expect(frames.at(-2)).toMatchObject({ type: 'error', code: 'SHUTTING_DOWN' })
      expect(frames.at(-1)).toEqual({ type: 'end' })
    } finally { p.child.kill('SIGKILL') }
  })
})
