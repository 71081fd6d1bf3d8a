// Child processes for the benchmark: servers (emulator, gateway, proxies) and load
// clients each run in their own process, so one process's CPU and memory never count
// in another's. Every process started here is tracked and killed by killAll().
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

const live = new Set<ChildProcess>()

export interface Proc {
  name: string
  child: ChildProcess
  pid: number
  /** stdout+stderr, last 64 KB, for error messages */
  output (): string
  /** all of stdout, with keepStdout */
  stdout (): string
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone */
  stop (graceMs?: number): Promise<void>
  exited: Promise<number | null>
}

export interface SpawnOptions {
  env?: Record<string, string>
  /** raise the open-file limit first (many sockets): see MANY_FILES */
  manyFiles?: boolean
  /** extra node flags (e.g. --cpu-prof) */
  nodeFlags?: string[]
  /** run a .ts file through tsx */
  ts?: boolean
  /** keep all of stdout (clients print their result there) */
  keepStdout?: boolean
}

/**
 * The open-file limit a manyFiles process asks for: 10,000 streams hold 20,000 sockets in
 * the gateway (client and upstream side). The benchmark raises it for its own children
 * (`ulimit -n` in the shell that execs them; the hard limit too, where allowed: root),
 * never in the product.
 */
export const MANY_FILES = 65_536
const RAISE_FILES = `h=$(ulimit -Hn); if [ "$h" != unlimited ] && [ "$h" -lt ${MANY_FILES} ]; then ulimit -Hn ${MANY_FILES} 2>/dev/null; fi; ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`

/** Spawns `node [flags] script args…`, through `bash -c 'ulimit -n …; exec node …'` when manyFiles. */
export function spawnNode (name: string, script: string, args: string[] = [], opts: SpawnOptions = {}): Proc {
  const nodeArgs = [...(opts.ts ? ['--import', 'tsx'] : []), ...(opts.nodeFlags ?? []), script, ...args]
  return spawnProc(name, process.execPath, nodeArgs, opts)
}

/** Spawns any program (the peers: python3, a Go binary), tracked like the node processes. */
export function spawnProc (name: string, command: string, args: string[], opts: Pick<SpawnOptions, 'env' | 'manyFiles' | 'keepStdout'> = {}): Proc {
  const env = { ...process.env, ...opts.env }
  const child = opts.manyFiles
    ? spawn('bash', ['-c', RAISE_FILES, 'bash', command, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(command, args, { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] })
  live.add(child)
  let out = ''
  let stdout = ''
  const keep = (d: Buffer) => { out += d.toString(); if (out.length > 65536) out = out.slice(-65536) }
  child.stdout!.on('data', (d: Buffer) => { keep(d); if (opts.keepStdout) stdout += d.toString() })
  child.stderr!.on('data', keep)
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => { live.delete(child); resolve(code) })
    child.once('error', () => { live.delete(child); resolve(null) })
  })
  if (child.pid === undefined) throw new Error(`could not spawn ${name}`)
  return {
    name,
    child,
    pid: child.pid,
    output: () => out,
    stdout: () => stdout,
    exited,
    async stop (graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(t)
    }
  }
}

/** Open file descriptors of a running process. */
export const openFiles = (pid: number) => readdirSync(`/proc/${pid}/fd`).length

/** The soft open-file limit of a running process (from /proc/<pid>/limits). */
export function openFileLimit (pid: number): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))
  return !m ? NaN : m[1] === 'unlimited' ? Infinity : Number(m[1])
}

/** Kills every process this run started (also on errors and Ctrl-C). */
export function killAll (): void {
  for (const c of live) c.kill('SIGKILL')
  live.clear()
}

/** Waits for a line `{"ready":true,…}` on the child's stdout and returns it parsed. */
export function readyLine (p: Proc, timeoutMs = 30_000): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const t = setTimeout(() => reject(new Error(`${p.name} did not start in ${timeoutMs} ms:\n${p.output()}`)), timeoutMs)
    const onData = (d: Buffer) => {
      buf += d.toString()
      for (const line of buf.split('\n')) {
        if (!line.startsWith('{"ready":true')) continue
        clearTimeout(t)
        p.child.stdout!.off('data', onData)
        resolve(JSON.parse(line) as Record<string, any>)
        return
      }
    }
    p.child.stdout!.on('data', onData)
    void p.exited.then((code) => { clearTimeout(t); reject(new Error(`${p.name} exited (${code}) before it was ready:\n${p.output()}`)) })
  })
}

/** Runs a client script to completion and returns the JSON object on its last stdout line. */
export async function runClient<T> (name: string, script: string, input: unknown, opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<T> {
  const p = spawnNode(name, script, [JSON.stringify(input)], { ts: true, keepStdout: true, ...opts })
  const timeoutMs = opts.timeoutMs ?? 120_000
  const t = setTimeout(() => { void p.stop(500) }, timeoutMs)
  const code = await p.exited
  clearTimeout(t)
  const lines = p.stdout().trim().split('\n')
  const last = lines[lines.length - 1] ?? ''
  if (code !== 0 || !/^[[{]/.test(last)) throw new Error(`${name} failed (exit ${code}):\n${p.output().slice(-4000)}`)
  return JSON.parse(last) as T
}

/** A free loopback port (tiny race between close and reuse; fine on loopback). */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

/** GET url → status code, or 0 when the connection fails. */
export function httpStatus (url: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) })
    req.on('error', () => resolve(0))
    req.on('timeout', () => { req.destroy(); resolve(0) })
  })
}

export async function waitForStatus (url: string, status: number, timeoutMs: number, everyMs = 5): Promise<number> {
  const start = performance.now()
  while (performance.now() - start < timeoutMs) {
    if (await httpStatus(url) === status) return performance.now() - start
    await sleep(everyMs)
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms`)
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

// ---- /proc readings (Linux) ----

function statusField (pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : NaN
}

/** Resident set size now, bytes. */
export const rssBytes = (pid: number) => statusField(pid, 'VmRSS')
/** Peak resident set size since start or since resetPeakRss(), bytes. */
export const peakRssBytes = (pid: number) => statusField(pid, 'VmHWM')

/** Resets VmHWM to the current RSS (Linux ≥ 4.0). Returns false where not allowed. */
export function resetPeakRss (pid: number): boolean {
  try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); return true } catch { return false }
}

const TICK_MS = 10 // USER_HZ is 100 on every Linux build we run on

/** User + system CPU time consumed by the process so far, ms. */
export function cpuMs (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // after "pid (comm) ": state is field 3 → index 0; utime is field 14 → index 11
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS
}

/** Polls VmRSS every everyMs while running fn; also returns VmHWM afterwards (the exact peak). */
export async function withRssSampling<T> (pid: number, fn: () => Promise<T>, everyMs = 20): Promise<{ result: T, baseline: number, peakSampled: number, peakHwm: number, hwmReset: boolean }> {
  const baseline = rssBytes(pid)
  const hwmReset = resetPeakRss(pid)
  let peakSampled = baseline
  const t = setInterval(() => {
    try { peakSampled = Math.max(peakSampled, rssBytes(pid)) } catch { /* process gone */ }
  }, everyMs)
  try {
    const result = await fn()
    peakSampled = Math.max(peakSampled, rssBytes(pid))
    const peakHwm = peakRssBytes(pid)
    return { result, baseline, peakSampled, peakHwm: hwmReset ? peakHwm : NaN, hwmReset }
  } finally {
    clearInterval(t)
  }
}

/** The machine's count of connections dropped because a listen queue was full (TcpExt ListenOverflows; every process, not only ours). */
export function listenOverflows (): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'))
    const names = lines[0]!.split(/\s+/)
    const values = lines[1]!.split(/\s+/)
    return Number(values[names.indexOf('ListenOverflows')])
  } catch {
    return NaN
  }
}
