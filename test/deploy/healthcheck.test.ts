// The image's HEALTHCHECK, run as Docker runs it: healthy while /ready is 200, unhealthy when
// the instance cannot take traffic (here: shutting down), while /health would still say 200.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from '../helpers/stack.js'

const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')
// `CMD node -e "<script>"`, possibly continued over lines
const script = /HEALTHCHECK[^\n]*\\\n\s*CMD node -e "([^"]+)"/.exec(dockerfile)?.[1]

const run = async (port: number) => {
  try {
    await promisify(execFile)(process.execPath, ['-e', script!], { env: { ...process.env, PORT: String(port) }, timeout: 10_000 })
    return 0
  } catch (err) {
    return (err as { code?: number }).code ?? -1
  }
}

describe('Dockerfile HEALTHCHECK', () => {
  let s: Stack
  let port: number
  beforeAll(async () => {
    s = await startStack()
    port = Number(new URL(await s.app.listen({ host: '127.0.0.1', port: 0 })).port)
  })
  afterAll(async () => { await s.close() })

  it('probes /ready: exit 0 while ready, 1 once the instance is not (while /health stays 200)', async () => {
    expect(script).toContain('/ready')
    expect(await run(port)).toBe(0)
    s.app.readiness.lifecycle = 'stopping'
    expect(await run(port)).toBe(1)
    expect((await s.app.inject({ url: '/health' })).statusCode).toBe(200)
    s.app.readiness.lifecycle = 'running'
  })
})
