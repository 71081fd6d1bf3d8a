// Global setup and teardown of `vitest run`: the suite leaves nothing behind.
//
// setup: one scratch directory for the whole run, made the TMPDIR of every worker and of
// every process they start (so os.tmpdir() files, sqlite session files and bench reports
// land there), and a marker variable that every child of the suite inherits.
//
// teardown: fails the run (exit code 1) when a process of this run is still alive, and
// kills it when it carries the marker; in CI, also fails it when a file in the checkout
// was created, changed or removed (elsewhere: a warning); removes the scratch directory.
// A process counts as "of this run" when it carries the marker in its environment, or
// when it started during the run with its cwd inside the checkout or the scratch
// directory; vitest itself, the processes it runs under (npm, .ci/run) and its own
// workers are not counted.
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'
import { RUN_MARKER } from './processes.js'
import { strictRun } from './strict.js'

const RUN_DIR_PREFIX = 'coze-gw-test-run-'

interface ProcInfo {
  pid: number
  ppid: number
  /** start time in clock ticks since boot: with pid, identifies a process across pid reuse */
  start: string
  cwd: string | undefined
  cmd: string
  marked: boolean
}

const hasProc = (() => { try { readdirSync('/proc/self'); return true } catch { return false } })()

function readProc (pid: number, marker: string): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z') return undefined // a zombie holds no resources and is its parent's to reap
    let cwd: string | undefined
    try { cwd = readlinkSync(`/proc/${pid}/cwd`) } catch { cwd = undefined }
    let marked = false
    try { marked = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`${RUN_MARKER}=${marker}`) } catch { marked = false }
    let cmd = ''
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() } catch { cmd = '' }
    return { pid, ppid: Number(fields[1]), start: fields[19] ?? '', cwd, cmd, marked }
  } catch {
    return undefined // gone meanwhile
  }
}

function processes (marker: string): ProcInfo[] {
  if (!hasProc) return []
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => readProc(Number(d), marker)).filter((p): p is ProcInfo => p !== undefined)
}

const key = (p: ProcInfo) => `${p.pid}:${p.start}`
const inside = (dir: string, p: string | undefined) => p !== undefined && (p === dir || p.startsWith(dir + path.sep))

/** Processes of this run still alive; see the header. */
function leftovers (root: string, runDir: string, marker: string, before: Set<string>): ProcInfo[] {
  const all = processes(marker)
  const byPid = new Map(all.map((p) => [p.pid, p]))
  const mine = new Set<number>([process.pid])
  // the processes vitest runs under: npm, sh -c, .ci/run (cwd in the checkout, not ours to judge)
  for (let p = byPid.get(process.pid); p && p.ppid > 1 && !mine.has(p.ppid); p = byPid.get(p.ppid)) mine.add(p.ppid)
  return all.filter((p) => {
    if (mine.has(p.pid)) return false
    // vitest's own children: its workers (which carry the marker) and vite's esbuild service.
    // Tests spawn from workers, so their processes are grandchildren at least.
    if (p.ppid === process.pid) return false
    if (p.marked) return true
    return !before.has(key(p)) && (inside(root, p.cwd) || inside(runDir, p.cwd))
  })
}

async function kill (procs: ProcInfo[], marker: string): Promise<void> {
  for (const p of procs) {
    try { process.kill(p.pid, 'SIGKILL') } catch { /* gone */ }
  }
  const until = Date.now() + 3000
  while (Date.now() < until && procs.some((p) => { const now = readProc(p.pid, marker); return now !== undefined && now.start === p.start })) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const SKIP_DIRS = new Set(['.git', 'node_modules'])

/** Every path of the checkout (but .git and node_modules) → its mtime (-1 for a directory). */
function snapshot (root: string): Map<string, number> {
  const out = new Map<string, number>()
  const walk = (dir: string) => {
    let entries: string[]
    try { entries = readdirSync(dir) } catch { return }
    for (const name of entries) {
      if (dir === root && SKIP_DIRS.has(name)) continue
      const full = path.join(dir, name)
      const rel = path.relative(root, full)
      let st
      try { st = lstatSync(full) } catch { continue }
      if (st.isDirectory()) {
        out.set(rel + '/', -1)
        walk(full)
      } else {
        out.set(rel, st.mtimeMs)
      }
    }
  }
  walk(root)
  return out
}

function changedFiles (before: Map<string, number>, after: Map<string, number>): string[] {
  const changes: string[] = []
  for (const [p, m] of after) {
    if (!before.has(p)) changes.push(`created  ${p}`)
    else if (before.get(p) !== m) changes.push(`modified ${p}`)
  }
  for (const p of before.keys()) if (!after.has(p)) changes.push(`removed  ${p}`)
  return changes
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' } }

export default function setup (project: TestProject): () => Promise<void> {
  const root = path.resolve(project.config.root)
  const watch = project.config.watch
  const realTmp = tmpdir()

  // scratch directories of earlier runs whose vitest was killed before its teardown
  for (const name of readdirSync(realTmp)) {
    const pid = new RegExp(`^${RUN_DIR_PREFIX}(\\d+)-`).exec(name)?.[1]
    if (pid && !alive(Number(pid))) rmSync(path.join(realTmp, name), { recursive: true, force: true })
  }
  const runDir = mkdtempSync(path.join(realTmp, `${RUN_DIR_PREFIX}${process.pid}-`))
  const marker = path.basename(runDir)
  const saved = { TMPDIR: process.env.TMPDIR, marker: process.env[RUN_MARKER], dir: process.env.COZE_GW_TEST_TMP }
  process.env[RUN_MARKER] = marker
  process.env.COZE_GW_TEST_TMP = runDir
  // workers are forked after this and inherit it; so do the processes tests start
  process.env.TMPDIR = runDir

  const before = new Set(processes(marker).map(key))
  const files = snapshot(root)

  return async function teardown () {
    const problems: string[] = []
    const left = leftovers(root, runDir, marker, before)
    if (left.length > 0) {
      // killed: what provably belongs to this run; a process that merely started in the
      // checkout meanwhile (a developer's `npm run dev`?) is only reported
      const ours = (p: ProcInfo) => p.marked || inside(runDir, p.cwd)
      const msg = [`${left.length} process(es) started during the run were still running after it:`,
        ...left.map((p) => `  pid ${p.pid} (parent ${p.ppid}) cwd ${p.cwd ?? '?'}${ours(p) ? ' [killed]' : ' [not killed: no run marker]'}: ${p.cmd.slice(0, 300)}`)]
      // ours always fail the run; others (a developer's shell or `npm run dev` in the
      // checkout) only in CI, where nothing else runs
      if (left.some(ours) || strictRun()) problems.push(...msg)
      else console.warn(`\n[global teardown] warning: ${msg.join('\n')}\n`)
      await kill(left.filter(ours), marker)
    }
    if (!watch) {
      const changes = changedFiles(files, snapshot(root))
      if (changes.length > 0) {
        const msg = [`the run wrote into the checkout (${root}); tests must write under os.tmpdir():`, ...changes.map((c) => `  ${c}`)]
        // a developer may save a file while the suite runs: only CI fails on it
        if (strictRun()) problems.push(...msg)
        else console.warn(`\n[global teardown] warning: ${msg.join('\n')}\n`)
      }
    }
    if (saved.TMPDIR === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = saved.TMPDIR
    if (saved.marker === undefined) delete process.env[RUN_MARKER]
    else process.env[RUN_MARKER] = saved.marker
    if (saved.dir === undefined) delete process.env.COZE_GW_TEST_TMP
    else process.env.COZE_GW_TEST_TMP = saved.dir
    rmSync(runDir, { recursive: true, force: true })
    if (problems.length > 0) {
      console.error(`\n[global teardown] FAILED: ${problems.join('\n')}\n`)
      // vitest only logs an error thrown here; the exit code is what CI reads
      process.exitCode = 1
      throw new Error(problems[0])
    }
  }
}
