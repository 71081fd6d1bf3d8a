// npm run bench [-- options]: measures the gateway side by side with references in the
// same run and writes BENCHMARKS.md.
//
//   --smoke          tiny counts, the sources through tsx, no build (the vitest smoke test)
//   --rounds N       rounds per scenario (default 3; the report gives median, min and max)
//   --only 1,3       run only these scenarios
//   --out FILE       where to write the report (default BENCHMARKS.md; a smoke run writes
//                    nothing unless --out is given)
//   --json FILE      also write the raw figures
//   --no-build       skip `npm run build` (dist/ must be current)
//   --no-ab          skip the before/after gateway (streams on axios's http adapter) and
//                    scenario 6 (the gateway next to itself with METRICS_ENABLED=false)
//   --streams 2000,10000  scenario 3's stream counts (the largest is the target's)
//   --stream-rate N  scenario 3: streams opened per second (default 200)
//   --no-peers       skip the peers of bench/peers/ (FastAPI + httpx, Go, Express)
//   --profile [S]    also run the gateway under --cpu-prof for S seconds (default 10) and
//                    add the top self-time functions to the report
//   --heap-snapshot [N]  snapshot the heap of a gateway idle and holding N quiet streams
//                    (default 2000) and add what a stream costs, per constructor; a full
//                    run that runs scenario 3 does it with 2000 unless --no-heap-snapshot
//
// A full run installs the peers' Debian packages when missing (python3-fastapi,
// python3-uvicorn, python3-httpx, golang-go: apt-get, as root); a smoke run only uses
// them when present. A peer that cannot run is reported as "not measured: <why>".
// BENCH_PYTHON (default /usr/bin/python3, Debian's) and BENCH_GO pick other binaries.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { killAll, ROOT } from './lib/proc.js'
import { FULL, SMOKE, table, type Params, type Section } from './lib/report.js'
import { beforeUndiciEntry, beforeUndiciMissing, cleanupScratch, SRC_ENTRY, START_ENTRY, startEmu, startGateway, startMinimalProxy, startSdkDirect, type Emu, type Server } from './lib/stack.js'
import { PEERS, preparePeers, startPeer, type PeerKey, type PeerStatus } from './lib/peers.js'
import { heapSnapshot, profileGateway, pruneProfiles, scenario1, scenario2, scenario3, scenario4, scenario5, scenario6, type Ctx } from './scenarios.js'

interface Args { streams?: number[], streamRate?: number, smoke: boolean, rounds?: number, only?: number[], out?: string, json?: string, build: boolean, profileS?: number, heapStreams?: number, ab: boolean, peers: boolean }

const HEAP_STREAMS = 2000

function parseArgs (argv: string[]): Args {
  const a: Args = { smoke: false, build: true, ab: true, peers: true }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const next = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${k} needs a value`)
      return v
    }
    if (k === '--smoke') a.smoke = true
    else if (k === '--rounds') a.rounds = Number(next())
    else if (k === '--only') a.only = next().split(',').map(Number)
    else if (k === '--out') a.out = next()
    else if (k === '--json') a.json = next()
    else if (k === '--no-build') a.build = false
    else if (k === '--no-ab') a.ab = false
    else if (k === '--no-peers') a.peers = false
    else if (k === '--streams') a.streams = next().split(',').map(Number)
    else if (k === '--stream-rate') a.streamRate = Number(next())
    else if (k === '--heap-snapshot') a.heapStreams = /^\d+$/.test(argv[i + 1] ?? '') ? Number(argv[++i]) : HEAP_STREAMS
    else if (k === '--no-heap-snapshot') a.heapStreams = 0
    else if (k === '--profile') a.profileS = /^\d+$/.test(argv[i + 1] ?? '') ? Number(argv[++i]) : 10
    else throw new Error(`unknown option ${k} (see the top of bench/run.ts)`)
  }
  if (a.smoke) a.build = false
  if (a.heapStreams === undefined && !a.smoke && (!a.only || a.only.includes(3))) a.heapStreams = HEAP_STREAMS
  if (a.rounds !== undefined && !(a.rounds >= 1)) throw new Error('--rounds must be ≥ 1')
  if (a.streams && !a.streams.every((n) => Number.isInteger(n) && n > 0)) throw new Error('--streams takes positive integers, e.g. 2000,10000')
  return a
}

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)

function machine (): Array<[string, string]> {
  const cpus = os.cpus()
  return [
    ['cores', String(os.availableParallelism?.() ?? cpus.length)],
    ['CPU', cpus[0]?.model.trim() ?? 'unknown'],
    ['memory', `${Math.round(os.totalmem() / 1024 ** 3)} GiB`],
    ['OS', `${os.type()} ${os.release()} (${os.arch()})`],
    ['Node', process.version],
    ['date', new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC']
  ]
}

function render (p: Params, sections: Section[], mach: Array<[string, string]>, load: { start: number[], end: number[] }, minutes: number, profile: string | undefined, heap: string | undefined): string {
  const targets = sections.flatMap((s) => s.targets)
  const failed = targets.filter((t) => !t.pass)
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ')
  const notes = path.join(ROOT, 'bench/profiling.md')
  const out = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench\` (\`bench/run.ts\`)${p.smoke ? ' in **smoke mode** (tiny counts: these figures mean nothing)' : ''}. ` +
    'Every figure is measured side by side with a reference in the same run, because these machines are shared and noisy: ' +
    `the median of ${p.rounds} round${p.rounds > 1 ? 's' : ''}, with the min and max in brackets as \`median (min – max)\`. ` +
    'The emulator, the gateway, each reference server and each load generator run in their own processes, over loopback only.',
    '',
    '## Machine',
    '',
    table(['', 'value'], [...mach, ['load average (1/5/15 min) at start', la(load.start)], ['load average at end', la(load.end)], ['run time', `${minutes.toFixed(1)} min`]].map(([k, v]) => [k!, v!]), ['l', 'l']),
    '',
    '## Targets',
    '',
    table(['scenario', 'target', 'measured: median (min – max)', 'result'], targets.map((t) => [String(t.scenario), t.target, t.measured, t.pass ? 'PASS' : '**FAIL**']), ['l', 'l', 'l', 'l']),
    '',
    'A target is judged on the median; the min and max are there to show how far the rounds spread.',
    '',
    failed.length === 0 ? 'Every target holds.' : `${failed.length} target${failed.length > 1 ? 's' : ''} missed: see the scenario and the Profiling section below.`,
    ''
  ]
  for (const s of sections) out.push(`## ${s.scenario}. ${s.title}`, '', ...s.body.flatMap((b) => [b, '']))
  out.push('## Profiling', '')
  if (existsSync(notes)) out.push(readFileSync(notes, 'utf8').trim(), '')
  const ab = sections.flatMap((s) => s.profiling ?? [])
  if (ab.length) {
    out.push('### Before and after the undici transport, measured side by side in this run', '',
      'The "before" gateway is the same build with one change: its SDK client sends streams through axios\'s http adapter, as it did before (`bench/gateway-variant.mjs`, `STREAM_TRANSPORT=http`). It runs next to the current gateway, against the same emulator, in the same rounds (scenario 3: a fresh process of each per round).', '',
      ...ab.flatMap((t) => [t, '']))
  }
  if (profile) out.push('### Profile of this run', '', profile, '')
  if (heap) out.push('### What a stream costs: heap snapshots of this run', '', heap, '')
  out.push(
    '## How to reproduce',
    '',
    '```sh',
    'npm install',
    'npm run bench                  # builds dist/, installs the peers\' Debian packages if missing, runs every scenario (≈ 20 min), writes BENCHMARKS.md',
    'npm run bench -- --only 1,2    # some scenarios; --rounds 5 for more rounds; --profile to add a CPU profile',
    'npm run bench -- --only 6      # the cost of the metrics alone (the gateway next to itself with METRICS_ENABLED=false)',
    'npm run bench -- --only 3 --heap-snapshot 2000   # scenario 3, and what a stream costs per constructor',
    'npm run bench -- --smoke --out /tmp/smoke.md   # seconds; what test/bench/smoke.test.ts runs',
    '```',
    ''
  )
  return out.join('\n')
}

async function main (): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const p: Params = { ...(args.smoke ? SMOKE : FULL), ...(args.rounds ? { rounds: args.rounds } : {}), ...(args.streams ? { streamCounts: args.streams } : {}), ...(args.streamRate ? { streamOpenPerS: args.streamRate } : {}) }
  const want = (n: number) => !args.only || args.only.includes(n)
  const started = performance.now()
  const loadStart = os.loadavg()
  if (args.build) {
    log('npm run build')
    try {
      execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
    } catch {
      // tsc still emits on type errors (someone's work in progress elsewhere in src/)
      if (!existsSync(path.join(ROOT, START_ENTRY.script))) throw new Error(`npm run build failed and ${START_ENTRY.script} is missing`)
      log('WARNING: npm run build reported errors (above); measuring the dist/ it emitted')
    }
  }
  const entry = args.smoke ? SRC_ENTRY : START_ENTRY
  const abMissing = args.ab ? beforeUndiciMissing(entry) : undefined
  if (abMissing) log(`no before/after gateway: ${abMissing}`)
  const ab = args.ab && !abMissing

  const sections: Section[] = []
  let profile: string | undefined
  let heap: string | undefined
  let emu: Emu | undefined
  const servers: Server[] = []
  let shared: { gateway: Server, proxy: Server, sdk: Server, before: Server | undefined } | undefined
  const peers: Partial<Record<PeerKey, Server>> = {}
  const metricsAb = args.ab && want(6)
  const needShared = want(1) || want(2) || metricsAb || args.profileS !== undefined
  let noMetrics: Server | undefined
  let peerStatus: PeerStatus = { ready: {}, missing: Object.fromEntries(PEERS.map((d) => [d.key, '--no-peers'])) }
  if (args.peers && (want(1) || want(2))) peerStatus = preparePeers({ install: !args.smoke, log })
  try {
    log('starting the emulator')
    emu = await startEmu()
    if (needShared) {
      log('starting the gateway, the minimal proxy, SDK direct and the peers')
      const b = beforeUndiciEntry(entry)
      const e = emu
      const startPeers = (Object.keys(peerStatus.ready) as PeerKey[]).map(async (key) => {
        try {
          peers[key] = await startPeer(key, e)
          servers.push(peers[key])
        } catch (err) {
          delete peerStatus.ready[key]
          peerStatus.missing[key] = `did not start: ${String(err).split('\n').slice(0, 3).join(' ')}`
          log(`${key} peer: ${peerStatus.missing[key]}`)
        }
      })
      const [gateway, proxy, sdk, before, off] = await Promise.all([
        startGateway(emu, entry), startMinimalProxy(emu), startSdkDirect(emu),
        ab ? startGateway(emu, b.entry, { env: b.env, name: 'gateway-before' }) : undefined,
        metricsAb ? startGateway(emu, entry, { env: { METRICS_ENABLED: 'false' }, name: 'gateway-nometrics' }) : undefined,
        ...startPeers
      ])
      shared = { gateway, proxy, sdk, before: before ?? undefined }
      servers.push(gateway, proxy, sdk, ...(before ? [before] : []), ...(off ? [off] : []))
      noMetrics = off ?? undefined
    }
    // without scenarios 1, 2 and 6 there are no shared servers: scenarios 3–5 start their own
    const { gateway, proxy, sdk, before } = shared ?? ({} as Partial<NonNullable<typeof shared>>)
    const ctx: Ctx = { p, emu, gateway: gateway as Server, proxy: proxy as Server, sdk: sdk as Server, peers, peerStatus, before, noMetrics, beforeEntry: ab ? beforeUndiciEntry(entry) : undefined, entry, log }
    if (want(1)) sections.push(await scenario1(ctx))
    if (want(2)) sections.push(await scenario2(ctx))
    if (metricsAb) sections.push(await scenario6(ctx))
    if (args.profileS !== undefined) {
      log(`profiling the gateway under scenario 1 load for ${args.profileS} s`)
      const pr = await profileGateway(ctx, args.profileS)
      profile = `\`${path.relative(ROOT, pr.file)}\`, gateway setup of scenario 1, ${args.profileS} s:\n\n${pr.markdown}`
      pruneProfiles()
    }
    for (const s of servers) await s.proc.stop()
    servers.length = 0
    if (want(3)) sections.push(await scenario3(ctx))
    if (args.heapStreams) {
      log(`heap snapshots: idle, and with ${args.heapStreams} streams`)
      const h = await heapSnapshot(ctx, args.heapStreams)
      heap = h.markdown
      log(`heap snapshots kept in ${h.dir}`)
    }
    if (want(4)) sections.push(await scenario4(ctx))
    if (want(5)) sections.push(await scenario5(ctx))
  } finally {
    for (const s of servers) await s.proc.stop().catch(() => {})
    await emu?.proc.stop().catch(() => {})
    killAll()
    cleanupScratch()
  }

  sections.sort((a, b) => a.scenario - b.scenario)
  const minutes = (performance.now() - started) / 60_000
  const md = render(p, sections, machine(), { start: loadStart, end: os.loadavg() }, minutes, profile, heap)
  const out = args.out ?? (args.smoke ? undefined : 'BENCHMARKS.md')
  if (out) {
    writeFileSync(path.resolve(ROOT, out), md)
    log(`wrote ${out}`)
  }
  if (args.json) writeFileSync(path.resolve(ROOT, args.json), JSON.stringify({ params: p, sections: sections.map((s) => ({ scenario: s.scenario, targets: s.targets, raw: s.raw })) }, null, 1))

  const targets = sections.flatMap((s) => s.targets)
  console.log('\nTargets:')
  for (const t of targets) console.log(`  ${t.pass ? 'PASS' : 'FAIL'}  [${t.scenario}] ${t.target}: ${t.measured}`)
}

const bail = () => { killAll(); process.exit(130) }
process.once('SIGINT', bail)
process.once('SIGTERM', bail)

main().catch((err) => {
  killAll()
  console.error(err)
  process.exit(1)
})
