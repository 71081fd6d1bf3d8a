// Scale-out, for real, on this machine: a redis-server, two gateway processes on it, and
// Debian's nginx in front of both (round-robin, proxy_buffering off) running
// deploy/nginx.conf with only its addresses replaced. Through nginx: the rate limit is
// exact, a session started on one instance continues on the other, two chats on one
// conversation never overlap upstream, and SSE passes through unbuffered.
// Every process is started in its own process group and killed with it, even on failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmulator, type Emulator } from '../../src/emulator/index.js'
import { startRedis, type TestRedis } from '../helpers/redis.js'
import { writeKeysFile, type KeysFile } from '../helpers/keys.js'
import { DEFAULT_BOT, timedFrames, userMsg } from '../helpers/stack.js'

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p)) ?? 'nginx'
const nginxAvailable = spawnSync(NGINX, ['-v'], { stdio: 'ignore' }).status === 0
if (!nginxAvailable) console.warn('\n!!! nginx is not installed: run scripts/ensure-system-deps.sh (apt-get install nginx). The scale-out test FAILS without it.\n')

const RATE_LIMIT = 12
const KEY = 'cgw_scaleout_key_ssssssssssssssssssssssss'
const RPM_KEY = 'cgw_scaleout_rpm_key_rrrrrrrrrrrrrrrrrrrr'
const PLAIN_KEY = 'cgw_scaleout_plain_key_pppppppppppppppppp'
const KEY_RPM = 5

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')))
    })
  })
}

interface Proc { name: string, child: ChildProcess, output: () => string }

const procs: Proc[] = []

/** Spawns in a new process group (so the whole tree can be killed), collecting its output. */
function startProc (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(cmd, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => { out += String(d) })
  child.stderr!.on('data', (d: Buffer) => { out += String(d) })
  const p = { name, child, output: () => out }
  procs.push(p)
  return p
}

/** SIGTERM to each process group (nginx's master then reaps its workers), SIGKILL after 5 s. */
async function killAll (): Promise<void> {
  await Promise.all(procs.map(async ({ child }) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    const signal = (sig: NodeJS.Signals) => { try { process.kill(-child.pid!, sig) } catch { /* already gone */ } }
    signal('SIGTERM')
    const timer = setTimeout(() => signal('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
    signal('SIGKILL') // anything left in the group
  }))
}

async function until<T> (what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** deploy/nginx.conf with the two gateways and the listen port of this run; every replaced line must exist. */
export function renderNginxConf (ports: [number, number], listen: number): string {
  let conf = readFileSync(new URL('../../deploy/nginx.conf', import.meta.url), 'utf8')
  for (const [from, to] of [
    ['server gateway-1:2026;', `server 127.0.0.1:${ports[0]};`],
    ['server gateway-2:2026;', `server 127.0.0.1:${ports[1]};`],
    ['listen 80;', `listen 127.0.0.1:${listen};`]
  ] as const) {
    expect(conf.split(from).length - 1, `deploy/nginx.conf must contain "${from}" once`).toBe(1)
    conf = conf.replace(from, to)
  }
  return conf
}

describe('two gateway processes behind nginx, on one redis-server', () => {
  let redis: TestRedis
  let emu: Emulator
  let keys: KeysFile
  let dir: string
  let base: string
  let gateways: Proc[]

  beforeAll(async () => {
    expect(nginxAvailable, 'nginx is required (scripts/ensure-system-deps.sh installs it)').toBe(true)
    dir = mkdtempSync(join(tmpdir(), 'gw-scale-'))
    redis = await startRedis()
    emu = await startEmulator({ slowDeltaMs: 120 })
    keys = writeKeysFile([
      { id: 'scale', raw: KEY, scopes: ['chat', 'sessions'], bots: ['*'], max_streams: 1 },
      { id: 'rpm', raw: RPM_KEY, scopes: ['sessions'], rpm: KEY_RPM },
      { id: 'plain', raw: PLAIN_KEY, scopes: ['chat'], bots: ['*'] }
    ])
    const env = {
      PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info',
      COZE_API_BASE: emu.url, COZE_API_TOKEN: emu.token, COZE_BOT_ID: DEFAULT_BOT,
      SESSION_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: `scale-${process.pid}:`,
      ENABLE_RATE_LIMIT: 'true', RATE_LIMIT_REQUESTS: String(RATE_LIMIT), RATE_LIMIT_WINDOW: '60',
      // nginx (and this test, which plays the clients and sets X-Forwarded-For) are on loopback
      TRUST_PROXY: '127.0.0.1', GATEWAY_KEYS_FILE: keys.path
    }
    gateways = [startProc('gateway-1', 'node_modules/.bin/tsx', ['src/server.ts'], env), startProc('gateway-2', 'node_modules/.bin/tsx', ['src/server.ts'], env)]
    const ports = await Promise.all(gateways.map((g) => until(`${g.name} to listen`, () => {
      if (g.child.exitCode !== null) throw new Error(`${g.name} exited:\n${g.output()}`)
      const m = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(g.output())
      return m ? Number(m[1]) : undefined
    }))) as [number, number]

    const listen = await freePort()
    writeFileSync(join(dir, 'gateway.conf'), renderNginxConf(ports, listen))
    const root = process.getuid?.() === 0
    writeFileSync(join(dir, 'nginx.conf'), [
      ...(root ? ['user root;'] : []),
      'worker_processes 1;', `pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log warn;`,
      'events { worker_connections 512; }',
      'http {',
      `  access_log ${dir}/access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      `  include ${dir}/gateway.conf;`,
      '}'
    ].join('\n'))
    const nginx = startProc('nginx', NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { PATH: process.env.PATH })
    base = `http://127.0.0.1:${listen}`
    await until('nginx to answer', async () => {
      if (nginx.child.exitCode !== null) throw new Error(`nginx exited:\n${nginx.output()}\n${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`)
      try { return (await fetch(`${base}/health`)).ok ? true : undefined } catch { return undefined }
    })
  }, 90_000)

  afterAll(async () => {
    await killAll()
    await emu?.close()
    await redis?.close()
    keys?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  }, 30_000)

  let seq = 0
  /** A request through nginx, with an x-request-id to find the instance that served it. */
  async function call (path: string, init: { method?: string, body?: unknown, headers?: Record<string, string> } = {}) {
    const id = `scale-${process.pid}-${++seq}`
    const res = await fetch(`${base}${path}`, {
      method: init.method ?? (init.body ? 'POST' : 'GET'),
      headers: { 'x-request-id': id, authorization: `Bearer ${KEY}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
      ...(init.body ? { body: JSON.stringify(init.body) } : {})
    })
    return { id, res }
  }
  /** Which gateway logged the request line of `id`. */
  const servedBy = (id: string) => until(`the log line of ${id}`, () => {
    const g = gateways.find((p) => p.output().split('\n').some((l) => l.includes(`"reqId":"${id}"`) && l.includes('"msg":"request"')))
    return g?.name
  }, 5000)

  it('the rate limit is exact across instances: the (N+1)-th request in the window is refused, whichever instance it reaches', async () => {
    const client = { 'x-forwarded-for': '198.51.100.7' }
    const served: string[] = []
    for (let i = 0; i < RATE_LIMIT; i++) {
      const { id, res } = await call('/api/v1/sessions?user_id=rl', { headers: client })
      expect(res.status, `request ${i + 1}`).toBe(200)
      await res.text()
      served.push(await servedBy(id))
    }
    expect(new Set(served)).toEqual(new Set(['gateway-1', 'gateway-2']))
    const refusedBy: string[] = []
    for (let i = 0; i < 2; i++) {
      const { id, res } = await call('/api/v1/sessions?user_id=rl', { headers: client })
      expect(res.status).toBe(429)
      expect((await res.json() as any).code).toBe('RATE_LIMITED')
      refusedBy.push(await servedBy(id))
    }
    expect(new Set(refusedBy)).toEqual(new Set(['gateway-1', 'gateway-2']))
    // another client IP has its own count
    expect((await call('/api/v1/sessions?user_id=rl', { headers: { 'x-forwarded-for': '198.51.100.8' } })).res.status).toBe(200)
  })

  it('a key\'s rpm is exact across instances too', async () => {
    const headers = { authorization: `Bearer ${RPM_KEY}`, 'x-forwarded-for': '198.51.100.20' }
    for (let i = 0; i < KEY_RPM; i++) expect((await call('/api/v1/sessions?user_id=k', { headers })).res.status).toBe(200)
    const over = (await call('/api/v1/sessions?user_id=k', { headers })).res
    expect(over.status).toBe(429)
    expect((await over.json() as any).message).toMatch(/5 requests per minute/)
  })

  /** Sends requests that nothing else depends on until the next one would reach `target`'s other instance. */
  async function nextGoesTo (other: string): Promise<void> {
    for (let i = 0; i < 4; i++) {
      const { id, res } = await call('/api/v1/sessions?user_id=probe', { headers: { 'x-forwarded-for': '198.51.100.30' } })
      await res.text()
      if (await servedBy(id) !== other) return
    }
    throw new Error('nginx is not alternating')
  }

  it('a session started on one instance continues on the other', async () => {
    const client = { 'x-forwarded-for': '198.51.100.40' }
    const first = await call('/api/v1/chat', { body: { user_id: 'ada', session_id: 'roaming', messages: [userMsg('my name is Ada')] }, headers: client })
    expect(first.res.status).toBe(200)
    const a = await first.res.json() as any
    const where = await servedBy(first.id)
    const other = where === 'gateway-1' ? 'gateway-2' : 'gateway-1'
    await nextGoesTo(other)
    const second = await call('/api/v1/chat', { body: { user_id: 'ada', session_id: 'roaming', messages: [userMsg('what is my name?')] }, headers: client })
    expect(second.res.status).toBe(200)
    expect(await servedBy(second.id)).toBe(other)
    const b = await second.res.json() as any
    expect(b.data.content).toContain('Turn 2. You said: "what is my name?". Earlier you said: "my name is Ada"')
    expect(b.conversation_id).toBe(a.conversation_id)
  })

  /** Reads an SSE response, stamping each data frame with its arrival time. */
  it('SSE passes through nginx unbuffered: deltas arrive one by one, as Coze sends them', async () => {
    const { res } = await call('/api/v1/chat', { body: { user_id: 'sse', bot_id: 'bot-slow', stream: true, messages: [userMsg('one two three four five six')] }, headers: { 'x-forwarded-for': '198.51.100.50' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const frames = await timedFrames(res)
    const deltas = frames.filter((f) => f.frame.type === 'message_delta')
    expect(deltas.length).toBeGreaterThanOrEqual(6)
    expect(frames.at(-1)!.frame.type).toBe('end')
    // bot-slow waits 120 ms before each delta: buffered, they would all arrive together at the end
    const spread = deltas.at(-1)!.at - deltas[0]!.at
    expect(spread).toBeGreaterThan(0.6 * 120 * (deltas.length - 1))
    // one by one: apart from one timer that fired late on a loaded machine, every delta has its own gap
    const gaps = deltas.slice(1).map((d, i) => d.at - deltas[i]!.at)
    expect(gaps.filter((g) => g > 40).length).toBeGreaterThanOrEqual(gaps.length - 1)
  })

  it('two chats on one conversation, through both instances, never overlap upstream', async () => {
    const client = { 'x-forwarded-for': '198.51.100.60', authorization: `Bearer ${PLAIN_KEY}` }
    const conv = ((await (await call('/api/v1/chat', { body: { user_id: 'q', bot_id: 'bot-slow', messages: [userMsg('open')] }, headers: client })).res.json()) as any).conversation_id as string
    const chatsBefore = emu.requests.filter((r) => r.path === '/v3/chat').length
    const start = (text: string) => call('/api/v1/chat', { body: { user_id: 'q', bot_id: 'bot-slow', conversation_id: conv, stream: true, messages: [userMsg(text)] }, headers: client })
    const [x, y] = await Promise.all([start('alpha beta gamma delta'), start('one two three four')])
    expect(new Set([await servedBy(x.id), await servedBy(y.id)])).toEqual(new Set(['gateway-1', 'gateway-2']))
    const [fx, fy] = await Promise.all([timedFrames(x.res), timedFrames(y.res)])
    const turnOf = (f: typeof fx) => {
      expect(f.find((e) => e.frame.type === 'chat_completed'), JSON.stringify(f.map((e) => e.frame))).toBeDefined()
      const text = f.filter((e) => e.frame.type === 'message_delta').map((e) => e.frame.content).join('')
      return Number(/^Turn (\d+)/.exec(text)![1])
    }
    const [tx, ty] = [turnOf(fx), turnOf(fy)]
    // Coze's turn numbers say which chat ran first
    expect([tx, ty].sort()).toEqual([2, 3])
    const firstText = tx === 2 ? 'alpha beta gamma delta' : 'one two three four'
    // upstream, on the emulator's own clock (the client's arrival times can swap when a loaded machine
    // stalls it): the chat that ran first went up first, and the other arrived after its answer was written whole
    const [first, second] = emu.requests.filter((r) => r.path === '/v3/chat').slice(chatsBefore)
    expect(first!.rawBody).toContain(firstText)
    expect(second!.receivedAt).toBeGreaterThan(first!.finishedAt!)
    // no 4016 retried behind the scenes: exactly one Coze chat each
    expect(emu.requests.filter((r) => r.path === '/v3/chat').length - chatsBefore).toBe(2)
  })

  it('a key\'s max_streams holds across instances (the counter lives in Redis)', async () => {
    const client = { 'x-forwarded-for': '198.51.100.70' }
    const open = await call('/api/v1/chat', { body: { user_id: 's', bot_id: 'bot-slow', stream: true, messages: [userMsg('a b c d e f g h')] }, headers: client })
    expect(open.res.status).toBe(200)
    // (a request's log line is written when it ends: ask who served what afterwards)
    const refused = []
    for (let i = 0; i < 2; i++) {
      const again = await call('/api/v1/chat', { body: { user_id: 's', stream: true, messages: [userMsg('me too')] }, headers: client })
      expect(again.res.status).toBe(429)
      expect((await again.res.json() as any).code).toBe('TOO_MANY_STREAMS')
      refused.push(again.id)
    }
    await open.res.text()
    const where = await servedBy(open.id)
    expect(await Promise.all(refused.map(servedBy))).toContain(where === 'gateway-1' ? 'gateway-2' : 'gateway-1')
    const after = await call('/api/v1/chat', { body: { user_id: 's', stream: true, messages: [userMsg('now')] }, headers: client })
    expect(after.res.status).toBe(200)
    await after.res.text()
  })
})
