// Keeps bench/ from rotting: runs every scenario of `npm run bench` with tiny counts
// (`--smoke`: the sources through tsx, no build) and checks the report it writes.
// The figures of a smoke run mean nothing; only that each scenario ran, and the
// functional checks (no failed streams, no coalesced deltas, whole uploads), are asserted.
//
// bench/run.ts runs in its own process group (test/helpers/processes.ts) with every server
// and client it starts: a timeout or a failed assertion stops them all, not just run.ts.
// Its report, raw figures and scratch files go to os.tmpdir(), never into the checkout.
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { spawnGroup, stopAllGroups, stopGroup } from '../helpers/processes.js'

const ROOT = path.resolve(import.meta.dirname, '../..')

/** Runs `node --import tsx bench/run.ts args…` to completion (SIGTERM, then SIGKILL of its group, after timeoutMs). */
async function runBench (args: string[], timeoutMs: number): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawnGroup(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  // 'close': exited, and its output read to the end (spawnGroup kills what it left in its group)
  const closed = once(child, 'close')
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => { stdout += String(d) })
  child.stderr!.on('data', (d: Buffer) => { stderr += String(d) })
  const timer = setTimeout(() => { stderr += `\n[smoke test] bench/run.ts still running after ${timeoutMs} ms: stopped\n`; void stopGroup(child, { graceMs: 5000 }) }, timeoutMs)
  try {
    await closed
    return { code: child.exitCode, stdout, stderr }
  } finally {
    clearTimeout(timer)
    await stopGroup(child, { signal: 'SIGKILL' })
  }
}

describe('npm run bench -- --smoke', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-smoke-'))
  // also when the test timed out with bench/run.ts still running
  afterAll(async () => { await stopAllGroups(); rmSync(dir, { recursive: true, force: true }) })

  it('runs all six scenarios and writes a report with every target, PASS or FAIL', async () => {
    const out = path.join(dir, 'BENCHMARKS.md')
    const json = path.join(dir, 'bench.json')
    const { code, stdout, stderr } = await runBench(['--smoke', '--out', out, '--json', json], 210_000)
    expect(code, stderr.slice(-3000)).toBe(0)

    const md = readFileSync(out, 'utf8')
    for (const h of ['## Machine', '## Targets', '## 1. Non-stream chat', '## 2. Streaming', '## 3. Many open streams', '## 4. Upload', '## 5. Cold start', '## 6. Cost of the metrics', '## Profiling']) {
      expect(md).toContain(h)
    }
    expect(md).toMatch(/\| cores \| \d+ \|/)
    expect(md).toContain(`| Node | ${process.version} |`)

    const report = JSON.parse(readFileSync(json, 'utf8')) as { sections: Array<{ scenario: number, targets: Array<{ target: string, measured: string, pass: boolean }> }> }
    const targets = report.sections.flatMap((s) => s.targets.map((t) => ({ ...t, scenario: s.scenario })))
    expect(targets.map((t) => t.scenario)).toEqual([1, 1, 1, 1, 1, 2, 2, 3, 4, 5, 6])
    for (const t of targets) {
      expect(t.measured, t.target).not.toMatch(/n\/a|NaN/)
      expect(stdout).toContain(`[${t.scenario}] ${t.target}`)
    }
    // Functional, not speed: these hold at any load.
    const byName = (s: string) => targets.find((t) => t.target.includes(s))!
    expect(byName('no coalescing').pass, byName('no coalescing').measured).toBe(true)
    expect(byName('concurrent quiet streams').measured).toMatch(/^0 errors/)
    // scenario 3's gateway reaches Coze over HTTP/2 (COZE_HTTP2=true, the emulator's h2c port)
    expect(byName('concurrent quiet streams').measured).toMatch(/upstream HTTP\/2 \(h2c\)$/)
    expect(md).toContain('**The gateway\'s upstream here is HTTP/2 (h2c)**')
    expect(md).toContain('Every upload answered 200 with the full byte count stored.')
  }, 240_000)
})
