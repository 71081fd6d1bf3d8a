// `npm run demo` as a person sees it: one human line with the gateway URL, the docs URL
// and a curl; that curl, pasted into a shell, shows the answer streaming.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, expect, it } from 'vitest'
import { outputOf, spawnGroup, stopGroup } from '../helpers/processes.js'

const BANNER = /^Demo gateway ready at (http:\/\/\S+) \(API docs: (\S+)\)\. Try: (curl .+)$/m
const CJK = /[\u4e00-\u9fff]/g

describe('the demo process', () => {
  it('prints one human line with the gateway URL, the docs URL and a curl that streams a paced answer', async () => {
    // node with tsx's loader, not the tsx wrapper: stopping it stops the server itself
    const child = spawnGroup(process.execPath, ['--import', 'tsx', 'src/server.ts', '--demo'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SESSION_STORE: 'memory' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const output = outputOf(child)
    try {
      const banner = await output.until(BANNER)
      const [, gateway, docs, curl] = banner as unknown as [string, string, string, string]
      const human = output.text().split('\n').filter((l) => l.trim() && !l.startsWith('{'))
      expect(human).toHaveLength(1)
      expect(gateway).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(docs).toBe(`${gateway}/docs`)
      expect((await fetch(`${gateway}/health`)).status).toBe(200)
      const ui = await fetch(docs)
      expect(ui.status).toBe(200)
      expect(await ui.text()).toContain('swagger')

      // the curl, run as pasted, by a shell
      const sh = spawn('bash', ['-c', curl], { stdio: ['ignore', 'pipe', 'pipe'] })
      const t0 = Date.now()
      const chunks: Array<{ at: number, text: string }> = []
      sh.stdout.on('data', (d) => chunks.push({ at: Date.now() - t0, text: String(d) }))
      const [code] = await once(sh, 'exit')
      expect(code).toBe(0)
      const body = chunks.map((c) => c.text).join('')
      const frames = body.split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => JSON.parse(b.slice(6)) as { type: string, content?: string })
      expect(frames.map((f) => f.type).slice(-2)).toEqual(['chat_completed', 'end'])
      const deltas = frames.filter((f) => f.type === 'message_delta')
      // a Chinese answer comes in small pieces, not as one delta
      expect(deltas.length).toBeGreaterThanOrEqual(5)
      for (const d of deltas) expect((d.content!.match(CJK) ?? []).length).toBeLessThanOrEqual(3)
      // ... and over time (30-80 ms a delta), not in the same millisecond
      const withDelta = chunks.filter((c) => c.text.includes('"message_delta"'))
      expect(withDelta.length).toBeGreaterThanOrEqual(3)
      expect(withDelta.at(-1)!.at - withDelta[0]!.at).toBeGreaterThanOrEqual(30 * (deltas.length - 1) * 0.8)
    } finally {
      await stopGroup(child)
    }
  }, 60_000)
})
