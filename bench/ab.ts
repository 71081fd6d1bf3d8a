// tsx bench/ab.ts [options] NAME=SPEC …: gateway variants side by side in one run, against
// one emulator and the minimal proxy, for before/after figures of a change (bench/profiling.md).
//
//   SPEC   a git ref (built from `git archive` into a temporary directory that borrows this
//          checkout's node_modules), `.` (this checkout's dist/, built first), or a
//          directory holding a built dist/; then optionally `+KEY=VALUE` environment
//          overrides, e.g. before=HEAD~3  after=.  sdk=.+COZE_TRANSPORT=sdk
//   --rounds N      rounds (default 3); the order of the setups rotates each round
//   --load-s S      seconds of autocannon load per setup per round (default 5, 16 connections)
//   --iters N       concurrency-1 JSON chats per setup per round (default 300)
//   --ttfd N        streamed chats per setup per round for the time to first delta (default 200)
//   --profile NAME  also run variant NAME under --cpu-prof for 10 s of load and summarise it
//   --together      load every gateway variant at the same moment (one autocannon each), so
//                   the machine's noise falls on all alike; the proxy is still loaded alone
//
// Per setup: req/s and CPU per request under load (scenario 1's JSON chat), × the minimal
// proxy in the same round; added P50 at concurrency 1 and added time to first delta, P50,
// against the emulator directly, every setup interleaved request by request.
import { execFileSync, execSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cpuMs, killAll, runClient, ROOT } from './lib/proc.js'
import { fmtSpread, percentile, spread } from './lib/stats.js'
import { table } from './lib/report.js'
import { auth, cleanupScratch, cozeBody, gatewayBody, startEmu, startGateway, startMinimalProxy, type Server } from './lib/stack.js'
import type { LoadInput, LoadResult } from './clients/load.js'
import type { SeqInput, SeqResult } from './clients/sequential.js'
import type { Target } from './clients/exchange.js'
import { summarize, summaryMarkdown } from './cpuprofile-summary.js'

interface Variant { name: string, spec: string, dir: string, env: Record<string, string> }

const log = (msg: string) => process.stderr.write(`[ab ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)

function parse (argv: string[]) {
  const o = { rounds: 3, loadS: 5, iters: 300, ttfd: 200, together: false, profile: undefined as string | undefined, variants: [] as Array<{ name: string, spec: string }> }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const next = () => argv[++i] ?? (() => { throw new Error(`${a} needs a value`) })()
    if (a === '--rounds') o.rounds = Number(next())
    else if (a === '--load-s') o.loadS = Number(next())
    else if (a === '--iters') o.iters = Number(next())
    else if (a === '--ttfd') o.ttfd = Number(next())
    else if (a === '--profile') o.profile = next()
    else if (a === '--together') o.together = true
    else if (/^[\w-]+=/.test(a)) o.variants.push({ name: a.slice(0, a.indexOf('=')), spec: a.slice(a.indexOf('=') + 1) })
    else throw new Error(`unknown argument ${a} (see the top of bench/ab.ts)`)
  }
  if (o.variants.length === 0) throw new Error('name at least one variant, e.g. before=HEAD~1 after=.')
  return o
}

const temps: string[] = []

/** The directory holding dist/ for a code spec (built when needed). */
function codeDir (code: string, built: Map<string, string>): string {
  const known = built.get(code)
  if (known) return known
  let dir: string
  if (code === '.') {
    log('npm run build (this checkout)')
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' })
    dir = ROOT
  } else if (existsSync(path.join(path.resolve(code), 'dist/server.js'))) {
    dir = path.resolve(code)
  } else {
    dir = mkdtempSync(path.join(os.tmpdir(), 'coze-ab-'))
    temps.push(dir)
    log(`building ${code} in ${dir}`)
    execSync(`git archive ${JSON.stringify(code)} | tar -x -C ${JSON.stringify(dir)}`, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'))
    execFileSync(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' })
  }
  built.set(code, dir)
  return dir
}

const rotate = <T>(xs: T[], r: number): T[] => xs.map((_, i) => xs[(i + r) % xs.length]!)

async function load (url: string, body: string, headers: Record<string, string>, pid: number, seconds: number) {
  const cpu0 = cpuMs(pid)
  const input: LoadInput = { url, body, headers, connections: 16, durationS: seconds, maxRequests: 1_000_000 }
  const r = await runClient<LoadResult>('autocannon', 'bench/clients/load.ts', input, { timeoutMs: seconds * 1000 + 30_000 })
  const cpu = cpuMs(pid) - cpu0
  return { rps: r.rps, cpuUs: r.requests > 0 ? (cpu * 1000) / r.requests : NaN, errors: r.errors + r.non2xx + r.timeouts }
}

async function main (): Promise<void> {
  const o = parse(process.argv.slice(2))
  const built = new Map<string, string>()
  const variants: Variant[] = o.variants.map(({ name, spec }) => {
    const [code, ...envs] = spec.split('+')
    const env = Object.fromEntries(envs.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
    return { name, spec, dir: codeDir(code!, built), env }
  })
  const servers: Server[] = []
  const emu = await startEmu()
  try {
    const proxy = await startMinimalProxy(emu)
    servers.push(proxy)
    const gws: Array<Variant & { server: Server }> = []
    for (const v of variants) {
      const server = await startGateway(emu, { script: path.relative(ROOT, path.join(v.dir, 'dist/server.js')), ts: false, nodeFlags: [] }, { env: v.env, name: v.name })
      servers.push(server)
      gws.push({ ...v, server })
    }
    type Setup = { name: string, url: string, body: string, headers: Record<string, string>, pid: number }
    const setups: Setup[] = [
      { name: 'proxy', url: `${proxy.url}/v3/chat`, body: cozeBody(), headers: {}, pid: proxy.proc.pid },
      ...gws.map((g) => ({ name: g.name, url: `${g.server.url}/api/v1/chat`, body: gatewayBody(false), headers: {}, pid: g.server.proc.pid }))
    ]
    log('warm-up')
    for (const s of setups) await load(s.url, s.body, s.headers, s.pid, 2)
    const tput: Array<Record<string, Awaited<ReturnType<typeof load>>>> = []
    const lat: SeqResult[] = []
    const ttfd: SeqResult[] = []
    const seq: Target[] = [
      { name: 'direct', url: `${emu.url}/v3/chat`, body: cozeBody(), headers: auth(emu), format: 'coze-sse' },
      { name: 'proxy', url: `${proxy.url}/v3/chat`, body: cozeBody(), format: 'coze-sse' },
      ...gws.map((g) => ({ name: g.name, url: `${g.server.url}/api/v1/chat`, body: gatewayBody(false), format: 'json' as const }))
    ]
    const streams: Target[] = [
      { name: 'direct', url: `${emu.url}/v3/chat`, body: cozeBody(), headers: auth(emu), format: 'coze-sse' },
      ...gws.map((g) => ({ name: g.name, url: `${g.server.url}/api/v1/chat`, body: gatewayBody(true), format: 'gateway-sse' as const }))
    ]
    for (let r = 0; r < o.rounds; r++) {
      log(`round ${r + 1}/${o.rounds}: throughput`)
      const round: (typeof tput)[number] = {}
      if (o.together) {
        const [proxySetup, ...gwSetups] = setups
        round.proxy = await load(proxySetup!.url, proxySetup!.body, proxySetup!.headers, proxySetup!.pid, o.loadS)
        const rs = await Promise.all(gwSetups.map((s) => load(s.url, s.body, s.headers, s.pid, o.loadS)))
        gwSetups.forEach((s, i) => { round[s.name] = rs[i]! })
      } else {
        for (const s of rotate(setups, r)) round[s.name] = await load(s.url, s.body, s.headers, s.pid, o.loadS)
      }
      tput.push(round)
      log(`round ${r + 1}/${o.rounds}: concurrency 1 and first delta`)
      lat.push(await runClient<SeqResult>('latency', 'bench/clients/sequential.ts', { targets: rotate(seq, r), iterations: o.iters, warmup: 20 } satisfies SeqInput, { timeoutMs: 600_000 }))
      ttfd.push(await runClient<SeqResult>('first-delta', 'bench/clients/sequential.ts', { targets: rotate(streams, r), iterations: o.ttfd, warmup: 20 } satisfies SeqInput, { timeoutMs: 600_000 }))
    }
    const get = (round: SeqResult, name: string) => round.find((t) => t.name === name)!
    const added = (rounds: SeqResult[], name: string, f: (t: SeqResult[number]) => number[]) =>
      spread(rounds.map((round) => percentile(f(get(round, name)), 50) - percentile(f(get(round, 'direct')), 50)))
    const first = gws[0]!.name
    const rows = setups.map((s) => {
      const g = s.name !== 'proxy'
      return [
        g ? `${s.name} (\`${gws.find((x) => x.name === s.name)!.spec}\`)` : 'minimal proxy',
        fmtSpread(spread(tput.map((t) => t[s.name]!.rps)), 0),
        s.name === 'proxy' ? '1.00' : fmtSpread(spread(tput.map((t) => t[s.name]!.rps / t.proxy!.rps)), 2),
        fmtSpread(spread(tput.map((t) => t[s.name]!.cpuUs)), 0),
        g && s.name !== first ? fmtSpread(spread(tput.map((t) => t[s.name]!.cpuUs / t[first]!.cpuUs)), 2) : '–',
        g && s.name !== first ? fmtSpread(spread(tput.map((t) => t[s.name]!.rps / t[first]!.rps)), 2) : '–',
        fmtSpread(added(lat, s.name, (t) => t.totalMs), 2, ' ms'),
        g ? fmtSpread(added(ttfd, s.name, (t) => t.firstDeltaMs), 2, ' ms') : '–',
        String(tput.reduce((n, t) => n + t[s.name]!.errors, 0) + lat.reduce((n, round) => n + get(round, s.name).errors, 0) + (g ? ttfd.reduce((n, round) => n + get(round, s.name).errors, 0) : 0))
      ]
    })
    console.log(`\n${o.rounds} rounds${o.together ? ' (gateways loaded together: their req/s are shares of one machine, their × proxy is not comparable with a proxy loaded alone)' : ''}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}\n`)
    console.log(table(['setup', 'req/s', '× proxy', 'CPU µs/req', `CPU × ${first}`, `req/s × ${first}`, 'added P50, c=1', 'added first delta, P50', 'errors'], rows))
    if (o.profile) {
      const v = gws.find((g) => g.name === o.profile)
      if (!v) throw new Error(`--profile ${o.profile}: no such variant`)
      const dir = path.join(ROOT, 'bench/.profiles')
      mkdirSync(dir, { recursive: true })
      const before = new Set(readdirSync(dir))
      const gw = await startGateway(emu, { script: path.relative(ROOT, path.join(v.dir, 'dist/server.js')), ts: false, nodeFlags: [] }, { env: v.env, name: `${v.name}-profiled`, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] })
      await load(`${gw.url}/api/v1/chat`, gatewayBody(false), {}, gw.proc.pid, 2)
      await load(`${gw.url}/api/v1/chat`, gatewayBody(false), {}, gw.proc.pid, 10)
      await gw.proc.stop(10_000)
      const file = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f)).map((f) => path.join(dir, f)).sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]
      if (file) console.log(`\n${path.relative(ROOT, file)}:\n\n${summaryMarkdown(summarize(file, 30, 9500))}`)
    }
  } finally {
    for (const s of servers) await s.proc.stop().catch(() => {})
    await emu.proc.stop().catch(() => {})
    killAll()
    cleanupScratch()
    for (const d of temps) rmSync(d, { recursive: true, force: true })
  }
}

process.once('SIGINT', () => { killAll(); process.exit(130) })
main().catch((err) => { killAll(); console.error(err); process.exit(1) })
