// A real redis-server for tests, on a free port, with no persistence.
// If the binary is missing the caller skips, loudly (scripts/ensure-system-deps.sh installs it; npm test runs it first).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'

export interface TestRedis {
  url: string
  client: Redis
  close (): Promise<void>
}

export const redisServerAvailable = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0

if (!redisServerAvailable) {
  console.warn('\n!!! redis-server is not installed: the Redis session store tests are SKIPPED. Run scripts/ensure-system-deps.sh (apt-get install redis-server).\n')
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
  const port = await freePort()
  const proc: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
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
      if (Date.now() > deadline || proc.exitCode !== null) { proc.kill('SIGKILL'); throw err }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return {
    url,
    client,
    async close () {
      client.disconnect()
      if (proc.exitCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve))
        proc.kill('SIGTERM')
        await exited
      }
    }
  }
}
