// A real redis-server for tests, on a free port, with no persistence, in its own process
// group and a scratch working directory.
// If the binary is missing the Redis tests skip, loudly, on a developer's machine
// (scripts/ensure-system-deps.sh installs it; npm test runs it first); in CI (CI=true) and
// under .ci/run (TEST_REQUIRE_SYSTEM_DEPS=1) they run, and fail.
import { spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { spawnGroup, stopGroup } from './processes.js'
import { strictRun } from './strict.js'

export interface TestRedis {
  url: string
  client: Redis
  /** Stops the server (the port and the scratch directory stay for start()). */
  stop (): Promise<void>
  /** Starts it again on the same port, after stop(). */
  start (): Promise<void>
  close (): Promise<void>
}

export const redisServerAvailable = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0

/** Skip the Redis tests: only when redis-server is missing and skipping is allowed (not CI). */
export const skipRedisTests = !redisServerAvailable && !strictRun()

const MISSING = 'redis-server is not installed: run scripts/ensure-system-deps.sh (apt-get install redis-server)'

if (skipRedisTests) {
  console.warn(`\n!!! ${MISSING}. The Redis session store tests are SKIPPED (in CI they fail).\n`)
}

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

export async function startRedis (): Promise<TestRedis> {
  if (!redisServerAvailable) throw new Error(`${MISSING}; CI requires it (CI / TEST_REQUIRE_SYSTEM_DEPS is set)`)
  const port = await freePort()
  const dir = mkdtempSync(path.join(tmpdir(), 'redis-'))
  const url = `redis://127.0.0.1:${port}`
  let proc: ChildProcess | undefined
  let client: Redis | undefined

  /** Starts redis-server and waits until it answers PING; returns a connected client. */
  const launch = async (): Promise<Redis> => {
    const p = spawnGroup('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { cwd: dir, stdio: 'ignore' })
    proc = p
    let spawnError: Error | undefined
    p.once('error', (err) => { spawnError = err })
    const deadline = Date.now() + 10_000
    for (;;) {
      const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      c.on('error', () => {})
      try {
        await c.connect()
        await c.ping()
        return c
      } catch (err) {
        c.disconnect()
        if (Date.now() > deadline || p.exitCode !== null || spawnError) throw spawnError ?? err
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }
  const stop = async () => {
    client?.disconnect()
    if (proc) await stopGroup(proc, { graceMs: 5000 })
    proc = undefined
  }
  try {
    client = await launch()
  } catch (err) {
    await stop()
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return {
    url,
    get client () { return client! },
    stop,
    async start () {
      if (proc) throw new Error('redis-server is already running')
      client = await launch()
    },
    async close () {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
