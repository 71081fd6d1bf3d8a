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
  const proc: ChildProcess = spawnGroup('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { cwd: dir, stdio: 'ignore' })
  let spawnError: Error | undefined
  proc.once('error', (err) => { spawnError = err })
  const stop = async () => {
    await stopGroup(proc, { graceMs: 5000 })
    rmSync(dir, { recursive: true, force: true })
  }
  const url = `redis://127.0.0.1:${port}`
  const deadline = Date.now() + 10_000
  let client: Redis
  for (;;) {
    client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.ping()
      break
    } catch (err) {
      client.disconnect()
      if (Date.now() > deadline || proc.exitCode !== null || spawnError) { await stop(); throw spawnError ?? err }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return {
    url,
    client,
    async close () {
      client.disconnect()
      await stop()
    }
  }
}
