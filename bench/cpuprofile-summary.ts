// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per package.
// CLI: tsx bench/cpuprofile-summary.ts <file.cpuprofile> [top=25]
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

export interface Row { name: string, selfMs: number, pct: number }
export interface Summary { totalMs: number, functions: Row[], packages: Row[] }

/** Where the code lives: a package name, node:internal, the gateway's src/, or a V8 pseudo-frame. */
export function packageOf (url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)'
  const nm = url.lastIndexOf('node_modules/')
  if (nm !== -1) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/')
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!
  }
  if (url.startsWith('node:')) return 'node (core)'
  const src = url.indexOf('/dist/')
  if (src !== -1) return 'gateway (dist/)'
  if (url.includes('/src/')) return 'gateway (src/)'
  return url
}

function shortUrl (url: string): string {
  const nm = url.lastIndexOf('node_modules/')
  if (nm !== -1) return url.slice(nm + 'node_modules/'.length)
  const d = url.indexOf('/dist/')
  if (d !== -1) return url.slice(d + 1)
  return url.replace(/^file:\/\//, '')
}

function frameName (cf: CallFrame): string {
  return cf.url ? `${cf.functionName || '(anonymous)'} ${shortUrl(cf.url)}:${cf.lineNumber + 1}` : (cf.functionName || '(anonymous)')
}

/** Self time per node id, counting only samples in the last `lastMs` of the profile (all when undefined). */
function selfTimes (p: CpuProfile, lastMs?: number): Map<number, number> {
  const selfUs = new Map<number, number>()
  let t = p.startTime
  const from = lastMs === undefined ? -Infinity : p.endTime - lastMs * 1000
  // timeDeltas[i] is the time since the previous sample: charge it to sample i.
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0
    if (t < from) continue
    selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0))
  }
  return selfUs
}

/** The heaviest call paths (callers, innermost first) into functions whose name contains `needle`. */
export function callers (file: string, needle: string, top = 8, depth = 8, lastMs?: number): Array<{ path: string[], selfMs: number }> {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const parent = new Map<number, number>()
  const byId = new Map<number, ProfileNode>()
  for (const n of p.nodes) {
    byId.set(n.id, n)
    for (const c of n.children ?? []) parent.set(c, n.id)
  }
  const paths = new Map<string, { path: string[], us: number }>()
  for (const [id, us] of selfTimes(p, lastMs)) {
    if (!frameName(byId.get(id)!.callFrame).includes(needle)) continue
    const path: string[] = []
    for (let cur: number | undefined = id; cur !== undefined && path.length < depth; cur = parent.get(cur)) path.push(frameName(byId.get(cur)!.callFrame))
    const key = path.join(' < ')
    const e = paths.get(key) ?? { path, us: 0 }
    e.us += us
    paths.set(key, e)
  }
  return [...paths.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => ({ path: e.path, selfMs: e.us / 1000 }))
}

export function summarize (file: string, top = 25, lastMs?: number): Summary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map<number, ProfileNode>()
  for (const n of p.nodes) byId.set(n.id, n)
  const selfUs = selfTimes(p, lastMs)
  const fn = new Map<string, number>()
  const pkg = new Map<string, number>()
  let total = 0
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame
    if (cf.functionName === '(idle)') continue
    total += us
    const name = frameName(cf)
    fn.set(name, (fn.get(name) ?? 0) + us)
    const pk = packageOf(cf.url, cf.functionName)
    pkg.set(pk, (pkg.get(pk) ?? 0) + us)
  }
  const rows = (m: Map<string, number>, n: number): Row[] => [...m.entries()]
    .sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([name, us]) => ({ name, selfMs: us / 1000, pct: (100 * us) / total }))
  return { totalMs: total / 1000, functions: rows(fn, top), packages: rows(pkg, 15) }
}

export function summaryMarkdown (s: Summary): string {
  const lines = [`Busy CPU in the profile: ${s.totalMs.toFixed(0)} ms (idle excluded).`, '', '| package | self ms | share |', '|---|---:|---:|']
  for (const r of s.packages) lines.push(`| ${r.name} | ${r.selfMs.toFixed(0)} | ${r.pct.toFixed(1)} % |`)
  lines.push('', '| function (self time) | self ms | share |', '|---|---:|---:|')
  for (const r of s.functions) lines.push(`| \`${r.name.replace(/\|/g, '\\|')}\` | ${r.selfMs.toFixed(0)} | ${r.pct.toFixed(1)} % |`)
  return lines.join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // tsx bench/cpuprofile-summary.ts <file> [--top N] [--last SECONDS] [--callers NAME]
  const args = process.argv.slice(2)
  const file = args[0]
  const opt = (k: string) => { const i = args.indexOf(k); return i === -1 ? undefined : args[i + 1] }
  if (!file) { console.error('usage: tsx bench/cpuprofile-summary.ts <file.cpuprofile> [--top N] [--last SECONDS] [--callers NAME]'); process.exit(2) }
  const lastMs = opt('--last') ? Number(opt('--last')) * 1000 : undefined
  const needle = opt('--callers')
  if (needle) {
    for (const c of callers(file, needle, Number(opt('--top') ?? 8), 10, lastMs)) console.log(`${c.selfMs.toFixed(0)} ms\n    ${c.path.join('\n  < ')}`)
  } else {
    console.log(summaryMarkdown(summarize(file, Number(opt('--top') ?? 25), lastMs)))
  }
}
