// Child processes of the test suite. Each one is the leader of its own process group
// (`detached: true`), so stopping it stops everything it started too: esbuild services
// under tsx, the servers and load clients of the benchmark. Every child carries the run
// marker (test/helpers/global-setup.ts), by which the global teardown finds and kills
// whatever a crashed or timed-out test file still left running.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { once } from 'node:events'

/** Environment variable naming the current `vitest run`; set by test/helpers/global-setup.ts. */
export const RUN_MARKER = 'COZE_GW_TEST_RUN'

const live = new Set<ChildProcess>()

/** Like spawn(), with the child in its own process group and marked as this run's. */
export function spawnGroup (command: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const env = { ...(opts.env ?? process.env) }
  const marker = process.env[RUN_MARKER]
  if (marker) env[RUN_MARKER] = marker
  const child = spawn(command, args, { ...opts, env, detached: true })
  if (child.pid === undefined) {
    // spawn failed (e.g. ENOENT): the 'error' event follows; nothing to track
    return child
  }
  live.add(child)
  child.once('exit', () => {
    // the leader is gone; anything left in its group (a grandchild) goes with it
    killGroup(child, 'SIGKILL')
    live.delete(child)
  })
  return child
}

const gone = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

/** Sends `signal` to the child's whole process group (no-op once it is empty). */
export function killGroup (child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

/** Resolves when the child has exited (at once if it already has). */
export async function exited (child: ChildProcess): Promise<void> {
  if (child.pid === undefined || gone(child)) return
  await once(child, 'exit')
}

/**
 * Stops a child and everything in its process group: `signal` to the child alone (so it
 * can shut down as it would in production), SIGKILL to the group after `graceMs` or as
 * soon as the child is gone. Safe to call twice, or on a child that already exited.
 */
export async function stopGroup (child: ChildProcess, { signal = 'SIGTERM', graceMs = 5000 }: { signal?: NodeJS.Signals, graceMs?: number } = {}): Promise<void> {
  if (child.pid === undefined) return
  if (!gone(child)) {
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs)
    try {
      if (signal === 'SIGKILL') killGroup(child, 'SIGKILL')
      else child.kill(signal)
      await exited(child)
    } finally {
      clearTimeout(timer)
    }
  }
  killGroup(child, 'SIGKILL')
  live.delete(child)
}

/** Stops every child this test file started and has not stopped yet. */
export async function stopAllGroups (): Promise<void> {
  await Promise.all([...live].map((c) => stopGroup(c, { graceMs: 2000 })))
}

// Last resort inside the worker: a test file that ends without its afterAll (a crash, a
// hook timeout) still takes its process groups with it when the worker exits normally.
process.once('exit', () => {
  for (const c of live) killGroup(c, 'SIGKILL')
})

/** Collects a child's stdout and stderr; `until(re)` resolves with the first match of the output, and rejects if the child exits first. */
export function outputOf (child: ChildProcess): { text (): string, until (re: RegExp): Promise<RegExpExecArray> } {
  let out = ''
  child.stdout?.on('data', (d) => { out += String(d) })
  child.stderr?.on('data', (d) => { out += String(d) })
  return {
    text: () => out,
    until: (re) => new Promise((resolve, reject) => {
      const timer = setInterval(() => { const m = re.exec(out); if (m) { clearInterval(timer); resolve(m) } }, 50)
      child.once('exit', () => { clearInterval(timer); reject(new Error(`exited before printing ${re}:\n${out}`)) })
    })
  }
}
