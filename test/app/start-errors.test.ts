// Issue 18.6 and issue 11: the real entry point refuses a bad configuration with one line
// that names the variable (never a stack trace), and warns about what it corrected.
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { exited, spawnGroup, stopAllGroups, stopGroup } from '../helpers/processes.js'

afterEach(async () => { await stopAllGroups() })

/** The real entry point (tsx src/server.ts) in its own process group, stopped with it. */
async function run (env: Record<string, string>, untilListening = false): Promise<{ code: number | null, out: string }> {
  const child = spawnGroup('node_modules/.bin/tsx', ['src/server.ts'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', PORT: '0', COZE_API_TOKEN: 'pat_test', SESSION_STORE: 'memory', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  const onData = (d: Buffer) => {
    out += String(d)
    if (untilListening && out.includes('Server listening at')) void stopGroup(child)
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  await exited(child)
  return { code: child.exitCode, out }
}

describe('start-up with a bad configuration', () => {
  it.each([
    ['PORT=99999', { PORT: '99999' }, 'Invalid configuration: PORT: must be <= 65535 (got "99999")'],
    ['TRUST_PROXY=yes', { TRUST_PROXY: 'yes' }, 'Invalid configuration: TRUST_PROXY:'],
    ['an unusable SESSION_DB_PATH', { SESSION_STORE: 'sqlite', SESSION_DB_PATH: '/dev/null/sessions.db' }, 'Invalid configuration: SESSION_DB_PATH: cannot open the session database "/dev/null/sessions.db"'],
    ['COZE_API_BASE without a scheme', { COZE_API_BASE: 'api.coze.cn' }, 'Invalid configuration: COZE_API_BASE: "api.coze.cn" has no scheme']
  ])('%s: exit 1 with one line, no stack trace', async (_name, env, line) => {
    const { code, out } = await run(env)
    expect(code).toBe(1)
    expect(out.trim().split('\n')).toHaveLength(1)
    expect(out).toContain(line)
    expect(out).not.toMatch(/\n\s+at /)
  })

  it('a PORT another process listens on: exit 1 with one line naming HOST/PORT', async () => {
    const server = net.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { code, out } = await run({ PORT: String((server.address() as net.AddressInfo).port) })
      expect(code).toBe(1)
      expect(out).toMatch(/Invalid configuration: HOST\/PORT: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\): another process listens on that port/)
      expect(out).not.toMatch(/\n\s+at /)
    } finally {
      server.close()
    }
  })

  it('the chatbot doc\'s COZE_BASE_URL=https://api.coze.cn/v3 starts, with warnings that name our variable', async () => {
    const { out } = await run({ COZE_BASE_URL: 'https://api.coze.cn/v3' }, true)
    expect(out).toContain('Server listening at')
    expect(out).toContain('COZE_BASE_URL is read as COZE_API_BASE')
    expect(out).toContain('COZE_API_BASE ends with /v3, which the Coze SDK adds itself: using https://api.coze.cn')
  })
})
