// The five scenarios of issue 6 with the targets of issue 17, and the cost of the metrics
// (issue 13). Each measures the gateway side by side with references in the same run (the
// minimal proxy, and the peers of bench/peers/), round after round (the order rotates each
// round), and returns its markdown, its raw figures and its targets.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { cpuMs, freePort, listenOverflows, openFileLimit, openFiles, runClient, sleep, spawnNode, waitForStatus, withRssSampling, ROOT } from './lib/proc.js'
import { runStreams, type StreamsLoad, type StreamsSummary } from './lib/streams.js'
import { analyse, diff, diffMarkdown, readSnapshot } from './heap-summary.js'
import { fmt, fmtSpread, MB, percentile, spread, sum, type Spread } from './lib/stats.js'
import { table, type Params, type Section, type TargetResult } from './lib/report.js'
import {
  auth, cozeBody, EXPECTED_DELTAS, gatewayBody, gatewayEnv, SHORT_DELTAS, SHORT_QUESTION, startGateway,
  type Emu, type GatewayEntry, type Server
} from './lib/stack.js'
import type { LoadInput, LoadResult } from './clients/load.js'
import type { SeqInput, SeqResult, SeqTargetResult } from './clients/sequential.js'
import type { UploadInput, UploadResult } from './clients/upload.js'
import type { Target } from './clients/exchange.js'
import { summarize, summaryMarkdown } from './cpuprofile-summary.js'
import { PEERS, type PeerKey, type PeerStatus } from './lib/peers.js'
import { H2C_STREAMS_PER_CONNECTION } from '../src/coze/h2-dispatcher.js'

export interface Ctx {
  p: Params
  emu: Emu
  gateway: Server
  proxy: Server
  sdk: Server
  /** the peers that run (bench/peers/), and why the others do not */
  peers: Partial<Record<PeerKey, Server>>
  peerStatus: PeerStatus
  /** the gateway with streams on axios's http adapter (before the undici adapter), for same-run before/after */
  before?: Server | undefined
  /** how to start that "before" gateway (scenario 3 starts fresh processes) */
  beforeEntry?: { entry: GatewayEntry, env: Record<string, string> } | undefined
  /** the same gateway with METRICS_ENABLED=false (scenario 6) */
  noMetrics?: Server | undefined
  entry: GatewayEntry
  log: (msg: string) => void
}

const rotate = <T>(xs: T[], r: number): T[] => xs.map((_, i) => xs[(i + r) % xs.length]!)
const ms = (s: Spread, d = 2) => fmtSpread(s, d, ' ms')
const MAX_REQUESTS = 1_000_000

// ---------------------------------------------------------------- scenario 1

interface LoadSetup { key: string, label: string, url: string, body: string, headers?: Record<string, string>, pid: number }

async function load (s: LoadSetup, connections: number, durationS: number): Promise<LoadResult & { cpuUsPerReq: number }> {
  const cpu0 = cpuMs(s.pid)
  const input: LoadInput = { url: s.url, body: s.body, headers: s.headers ?? {}, connections, durationS, maxRequests: MAX_REQUESTS }
  const r = await runClient<LoadResult>('autocannon', 'bench/clients/load.ts', input, { timeoutMs: durationS * 1000 + 30_000 })
  const cpu = cpuMs(s.pid) - cpu0
  return { ...r, cpuUsPerReq: r.requests > 0 ? (cpu * 1000) / r.requests : NaN }
}

export const BEFORE_LABEL = 'gateway, streams on axios\'s http adapter (before)'

/** The peers that run, in PEERS order. */
const runningPeers = (ctx: Ctx) => PEERS.filter((d) => ctx.peers[d.key])

/** A target measured against a peer: "not measured: <why>" when the peer could not run. */
function peerTarget (ctx: Ctx, scenario: number, key: PeerKey, target: string, f: () => { measured: string, pass: boolean }): TargetResult {
  if (ctx.peers[key]) return { scenario, target, ...f() }
  return { scenario, target, measured: `not measured: ${ctx.peerStatus.missing[key] ?? 'not started (--no-peers)'}`, pass: false }
}

/** One line on the peers: what each runs on, or why it did not run. */
function peersLine (ctx: Ctx): string {
  return 'Peers (`bench/peers/`, each in its own process, one process each, against the same emulator; the gateway\'s own request body): ' +
    PEERS.map((d) => `${d.short}: ${ctx.peers[d.key] ? ctx.peerStatus.ready[d.key] : `**not measured** (${ctx.peerStatus.missing[d.key] ?? '--no-peers'})`}`).join('; ') + '.'
}

export function setups1 (ctx: Ctx): LoadSetup[] {
  const { emu, proxy, sdk, gateway, before, peers } = ctx
  return [
    { key: 'emulator', label: 'Coze emulator alone (no proxy)', url: `${emu.url}/v3/chat`, body: cozeBody(), headers: auth(emu), pid: emu.proc.pid },
    { key: 'proxy', label: 'minimal proxy (`bench/minimal-proxy.ts`)', url: `${proxy.url}/v3/chat`, body: cozeBody(), pid: proxy.proc.pid },
    { key: 'sdk', label: 'SDK direct (`bench/sdk-direct.ts`)', url: `${sdk.url}/`, body: cozeBody(), pid: sdk.proc.pid },
    ...runningPeers(ctx).map((d) => ({ key: d.key, label: d.label, url: `${peers[d.key]!.url}/api/v1/chat`, body: gatewayBody(false), pid: peers[d.key]!.proc.pid })),
    { key: 'gateway', label: '**gateway** `POST /api/v1/chat`', url: `${gateway.url}/api/v1/chat`, body: gatewayBody(false), pid: gateway.proc.pid },
    ...(before ? [{ key: 'before', label: BEFORE_LABEL, url: `${before.url}/api/v1/chat`, body: gatewayBody(false), pid: before.proc.pid }] : [])
  ]
}

export async function scenario1 (ctx: Ctx): Promise<Section> {
  const { p, emu } = ctx
  const setups = setups1(ctx)
  if (p.warmupS > 0) for (const s of setups) await load(s, p.connections, p.warmupS)

  const perRound: Array<Record<string, LoadResult & { cpuUsPerReq: number, emuCpuUsPerReq: number }>> = []
  const latency: SeqResult[] = []
  const seqTargets: Target[] = [
    { name: 'direct', url: `${emu.url}/v3/chat`, body: cozeBody(), headers: auth(emu), format: 'coze-sse' },
    { name: 'proxy', url: `${ctx.proxy.url}/v3/chat`, body: cozeBody(), format: 'coze-sse' },
    { name: 'sdk', url: `${ctx.sdk.url}/`, body: cozeBody(), format: 'json' },
    ...runningPeers(ctx).map((d) => ({ name: d.key, url: `${ctx.peers[d.key]!.url}/api/v1/chat`, body: gatewayBody(false), format: 'json' as const })),
    { name: 'gateway', url: `${ctx.gateway.url}/api/v1/chat`, body: gatewayBody(false), format: 'json' },
    ...(ctx.before ? [{ name: 'before', url: `${ctx.before.url}/api/v1/chat`, body: gatewayBody(false), format: 'json' as const }] : [])
  ]
  for (let r = 0; r < p.rounds; r++) {
    ctx.log(`scenario 1 round ${r + 1}/${p.rounds}: throughput`)
    const round: (typeof perRound)[number] = {}
    for (const s of rotate(setups, r)) {
      const e0 = cpuMs(emu.proc.pid)
      const res = await load(s, p.connections, p.loadS)
      const emuCpu = cpuMs(emu.proc.pid) - e0
      round[s.key] = { ...res, emuCpuUsPerReq: res.requests > 0 ? (emuCpu * 1000) / res.requests : NaN }
    }
    perRound.push(round)
    ctx.log(`scenario 1 round ${r + 1}/${p.rounds}: latency at concurrency 1`)
    const input: SeqInput = { targets: rotate(seqTargets, r), iterations: p.latencyIters, warmup: Math.min(20, p.latencyIters) }
    latency.push(await runClient<SeqResult>('latency', 'bench/clients/sequential.ts', input, { timeoutMs: 300_000 }))
  }

  const col = (key: string, f: (x: LoadResult & { cpuUsPerReq: number, emuCpuUsPerReq: number }) => number) => spread(perRound.map((r) => f(r[key]!)))
  const ratio = (a: string, b: string) => spread(perRound.map((r) => r[a]!.rps / r[b]!.rps))
  const gwVsProxy = ratio('gateway', 'proxy')
  const rows = setups.map((s) => [
    s.label,
    fmtSpread(col(s.key, (x) => x.rps), 0),
    s.key === 'proxy' ? '1.00' : fmtSpread(ratio(s.key, 'proxy'), 2),
    s.key === 'gateway' ? '1.00' : fmtSpread(ratio('gateway', s.key), 2),
    fmtSpread(col(s.key, (x) => x.cpuUsPerReq), 0),
    s.key === 'emulator' ? '–' : fmtSpread(col(s.key, (x) => x.emuCpuUsPerReq), 0),
    fmtSpread(col(s.key, (x) => x.p99Ms), 0),
    String(sum(perRound.map((r) => r[s.key]!.errors + r[s.key]!.non2xx + r[s.key]!.timeouts)))
  ])

  const lat = (name: string, f: (t: SeqTargetResult) => number) => spread(latency.map((round) => f(round.find((t) => t.name === name)!)))
  const added = (name: string, q: number) => spread(latency.map((round) => {
    const t = round.find((x) => x.name === name)!
    const d = round.find((x) => x.name === 'direct')!
    return percentile(t.totalMs, q) - percentile(d.totalMs, q)
  }))
  const p50 = (t: SeqTargetResult) => percentile(t.totalMs, 50)
  const gwOver = (name: string) => spread(latency.map((round) => p50(round.find((t) => t.name === 'gateway')!) / p50(round.find((t) => t.name === name)!)))
  const latNames: Array<[string, string]> = [
    ['direct', 'client → emulator directly'], ['proxy', 'through the minimal proxy'], ['sdk', 'through SDK direct'],
    ...runningPeers(ctx).map((d): [string, string] => [d.key, `through the ${d.short}`]),
    ['gateway', '**through the gateway**'], ...(ctx.before ? [['before', `through the ${BEFORE_LABEL}`] as [string, string]] : [])
  ]
  const latErrors = sum(latency.flatMap((round) => round.map((t) => t.errors)))
  const latRows = latNames.map(([n, label]) => [
    label,
    ms(lat(n, p50), 2),
    ms(lat(n, (t) => percentile(t.totalMs, 99)), 2),
    n === 'direct' ? '–' : ms(added(n, 50), 2),
    n === 'direct' ? '–' : ms(added(n, 99), 2),
    n === 'gateway' ? '1.00' : `${fmtSpread(gwOver(n), 2)}×`
  ])
  const addedP50 = added('gateway', 50)
  const times = (key: PeerKey, min: number) => () => {
    const x = ratio('gateway', key)
    return { measured: `${fmtSpread(x, 2)}× (gateway ${fmt(col('gateway', (r) => r.rps).median, 0)} req/s, ${PEERS.find((d) => d.key === key)!.short} ${fmt(col(key, (r) => r.rps).median, 0)})`, pass: x.median >= min }
  }

  const targets: TargetResult[] = [
    { scenario: 1, target: 'JSON chat throughput ≥ 0.6× a byte-piping node:http + undici proxy (the minimal proxy)', measured: `${fmtSpread(gwVsProxy, 2)}×`, pass: gwVsProxy.median >= 0.6 },
    peerTarget(ctx, 1, 'fastapi', 'JSON chat throughput ≥ 3× FastAPI + httpx (the original service\'s stack)', times('fastapi', 3)),
    peerTarget(ctx, 1, 'go', 'JSON chat throughput ≥ 1× a minimal Go net/http relay', times('go', 1)),
    peerTarget(ctx, 1, 'express', 'JSON chat throughput ≥ 2× a naive Express + fetch relay that validates nothing', times('express', 2)),
    { scenario: 1, target: 'added P50 at concurrency 1 ≤ 1 ms', measured: ms(addedP50, 2), pass: addedP50.median <= 1 }
  ]
  const profiling: string[] = []
  if (ctx.before) {
    const cpuRatio = spread(perRound.map((r) => r.gateway!.cpuUsPerReq / r.before!.cpuUsPerReq))
    profiling.push(table(['figure (scenario 1, this run)', 'before: streams on axios http', 'after: streams on undici', 'after / before'], [
      ['gateway CPU per request', fmtSpread(col('before', (x) => x.cpuUsPerReq), 0, ' µs'), fmtSpread(col('gateway', (x) => x.cpuUsPerReq), 0, ' µs'), `${fmtSpread(cpuRatio, 2)}×`],
      ['req/s', fmtSpread(col('before', (x) => x.rps), 0), fmtSpread(col('gateway', (x) => x.rps), 0), `${fmtSpread(ratio('gateway', 'before'), 2)}×`],
      ['req/s × minimal proxy', fmtSpread(ratio('before', 'proxy'), 2), fmtSpread(gwVsProxy, 2), '–'],
      ['added P50 latency, concurrency 1', ms(added('before', 50), 2), ms(addedP50, 2), '–'],
      ['added P99 latency, concurrency 1', ms(added('before', 99), 2), ms(added('gateway', 99), 2), '–']
    ]))
  }
  return {
    scenario: 1,
    title: 'Non-stream chat',
    profiling,
    body: [
      `Every setup answers the same chat turn from the same emulator process (the default bot, ${EXPECTED_DELTAS} deltas streamed from \`/v3/chat\`). ` +
      `autocannon, in its own process, keeps ${p.connections} connections busy for ${p.loadS} s per setup per round; the setups run one after another, in a rotated order each round. ` +
      'The gateway answers `POST /api/v1/chat` (it streams from the emulator and aggregates the answer into the JSON envelope); ' +
      'the minimal proxy forwards the raw `/v3/chat` call and pipes the SSE bytes back; SDK direct is a bare `node:http` server that calls the SDK\'s `chat.stream` with the gateway\'s own client (`createCozeClient`) and answers the concatenated text; ' +
      'the peers answer the gateway\'s own `POST /api/v1/chat` body with the same envelope, aggregated from the same `/v3/chat` stream: FastAPI + httpx validates the body (pydantic) and maps Coze\'s errors, as the original service did; the Go and Express relays validate nothing. ' +
      'CPU per request is the process\'s user+system time (from `/proc/<pid>/stat`) over the requests it served: the figure the shared machine disturbs least. ' +
      '"gateway × this" is the gateway\'s throughput over this setup\'s, round by round.',
      peersLine(ctx),
      table(['setup', 'req/s', '× minimal proxy', 'gateway × this', 'server CPU µs/req', 'emulator CPU µs/req', 'P99 ms (autocannon)', 'errors'], rows),
      `Added latency at concurrency 1: ${p.latencyIters} requests per path per round, the ${latNames.length} paths interleaved request by request (so they share the same noise); time from sending the request to the last byte of the answer. "gateway ÷ this": the gateway's P50 over this path's (below 1: the gateway answers sooner).`,
      table(['path', 'P50', 'P99', 'added P50 vs direct', 'added P99 vs direct', 'gateway ÷ this (P50)'], latRows),
      `Errors at concurrency 1: ${latErrors}.`
    ],
    targets,
    raw: { perRound, latency: latency.map((round) => round.map((t) => ({ name: t.name, p50: percentile(t.totalMs, 50), p99: percentile(t.totalMs, 99), n: t.totalMs.length, errors: t.errors, firstError: t.firstError }))) }
  }
}

/** Runs the gateway setup of scenario 1 against a gateway started with --cpu-prof, and summarises the profile. */
export async function profileGateway (ctx: Ctx, seconds: number): Promise<{ markdown: string, file: string }> {
  const dir = path.join(ROOT, 'bench/.profiles')
  mkdirSync(dir, { recursive: true })
  const before = new Set(readdirSync(dir))
  const gw = await startGateway(ctx.emu, ctx.entry, { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] })
  try {
    const s = setups1({ ...ctx, gateway: gw }).find((x) => x.key === 'gateway')!
    await load(s, ctx.p.connections, Math.max(1, ctx.p.warmupS))
    const r = await load(s, ctx.p.connections, seconds)
    ctx.log(`profiled gateway: ${fmt(r.rps, 0)} req/s`)
  } finally {
    await gw.proc.stop(10_000)
  }
  const created = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
  if (created.length === 0) throw new Error('the profiled gateway wrote no .cpuprofile')
  const file = path.join(dir, created.sort((a, b) => statSync(path.join(dir, b)).mtimeMs - statSync(path.join(dir, a)).mtimeMs)[0]!)
  // only the measured load: not the start-up, the warm-up or the shutdown
  return { markdown: summaryMarkdown(summarize(file, 25, (seconds - 0.5) * 1000)), file }
}

// ---------------------------------------------------------------- scenario 2

export async function scenario2 (ctx: Ctx): Promise<Section> {
  const { p, emu, gateway } = ctx
  const slowBot = `bot-slow-${p.slowBotMs}`
  const fast: Target[] = [
    { name: 'direct', url: `${emu.url}/v3/chat`, body: cozeBody(), headers: auth(emu), format: 'coze-sse' },
    { name: 'proxy', url: `${ctx.proxy.url}/v3/chat`, body: cozeBody(), format: 'coze-sse' },
    ...runningPeers(ctx).map((d) => ({ name: d.key, url: `${ctx.peers[d.key]!.url}/api/v1/chat`, body: gatewayBody(true), format: 'gateway-sse' as const })),
    { name: 'gateway', url: `${gateway.url}/api/v1/chat`, body: gatewayBody(true), format: 'gateway-sse' },
    ...(ctx.before ? [{ name: 'before', url: `${ctx.before.url}/api/v1/chat`, body: gatewayBody(true), format: 'gateway-sse' as const }] : [])
  ]
  const slow: Target[] = [
    { name: 'direct', url: `${emu.url}/v3/chat`, body: cozeBody(slowBot), headers: auth(emu), format: 'coze-sse' },
    { name: 'gateway', url: `${gateway.url}/api/v1/chat`, body: gatewayBody(true, slowBot), format: 'gateway-sse' }
  ]
  const fastRounds: SeqResult[] = []
  const slowRounds: SeqResult[] = []
  for (let r = 0; r < p.rounds; r++) {
    ctx.log(`scenario 2 round ${r + 1}/${p.rounds}`)
    fastRounds.push(await runClient<SeqResult>('first-delta', 'bench/clients/sequential.ts', { targets: rotate(fast, r), iterations: p.ttfdIters, warmup: Math.min(20, p.ttfdIters) } satisfies SeqInput, { timeoutMs: 300_000 }))
    slowRounds.push(await runClient<SeqResult>('paced', 'bench/clients/sequential.ts', { targets: rotate(slow, r), iterations: p.slowIters, warmup: 1 } satisfies SeqInput, { timeoutMs: 300_000 }))
  }
  const get = (round: SeqResult, name: string) => round.find((t) => t.name === name)!
  const per = (rounds: SeqResult[], name: string, f: (t: SeqTargetResult) => number) => spread(rounds.map((round) => f(get(round, name))))
  const diff = (rounds: SeqResult[], f: (t: SeqTargetResult) => number, name = 'gateway') => spread(rounds.map((round) => f(get(round, name)) - f(get(round, 'direct'))))

  const ttfd50 = (t: SeqTargetResult) => percentile(t.firstDeltaMs, 50)
  const ttfd99 = (t: SeqTargetResult) => percentile(t.firstDeltaMs, 99)
  const gap50 = (t: SeqTargetResult) => percentile(t.gapsMs, 50)
  const gap99 = (t: SeqTargetResult) => percentile(t.gapsMs, 99)
  // The mean gap: (last delta − first delta) / (deltas − 1), over every answer; any per-delta cost accumulates in it.
  const spreadPerDelta = (t: SeqTargetResult) => sum(t.gapsMs) / Math.max(1, t.gapsMs.length)
  const addedTtfd = diff(fastRounds, ttfd50)

  const all = [...fastRounds, ...slowRounds]
  const gwAnswers = sum(all.map((round) => get(round, 'gateway').deltasPerAnswer.length))
  const framesOut = sum(all.map((round) => sum(get(round, 'gateway').deltasPerAnswer)))
  const directPerAnswer = new Set(all.flatMap((round) => get(round, 'direct').deltasPerAnswer))
  const deltasIn = gwAnswers * EXPECTED_DELTAS
  const everyAnswerWhole = all.every((round) => get(round, 'gateway').deltasPerAnswer.every((n) => n === EXPECTED_DELTAS))
  const multiReadsGw = sum(slowRounds.map((round) => get(round, 'gateway').multiDeltaReads))
  const multiReadsDirect = sum(slowRounds.map((round) => get(round, 'direct').multiDeltaReads))
  const errors = sum(all.flatMap((round) => round.map((t) => t.errors)))
  const profiling = ctx.before
    ? [table(['figure (scenario 2, this run)', 'before: streams on axios http', 'after: streams on undici'], [
        ['added time to first delta, P50', ms(diff(fastRounds, ttfd50, 'before')), ms(addedTtfd)],
        ['added time to first delta, P99', ms(diff(fastRounds, ttfd99, 'before')), ms(diff(fastRounds, ttfd99))]
      ])]
    : []
  const noCoalescing = everyAnswerWhole && framesOut === deltasIn && directPerAnswer.size === 1 && directPerAnswer.has(EXPECTED_DELTAS) && multiReadsGw === 0

  const ttfdPaths: Array<[string, string]> = [
    ['direct', 'client → emulator directly'], ['proxy', 'through the minimal proxy'],
    ...runningPeers(ctx).map((d): [string, string] => [d.key, `through the ${d.short}`]),
    ['gateway', '**through the gateway**']
  ]
  const gwOver = (name: string) => spread(fastRounds.map((round) => ttfd50(get(round, 'gateway')) / ttfd50(get(round, name))))
  const ttfdRows = ttfdPaths.map(([n, label]) => [
    label,
    ms(per(fastRounds, n, ttfd50)),
    ms(per(fastRounds, n, ttfd99)),
    n === 'direct' ? '–' : ms(diff(fastRounds, ttfd50, n)),
    n === 'direct' ? '–' : ms(diff(fastRounds, ttfd99, n)),
    n === 'gateway' ? '1.00' : `${fmtSpread(gwOver(n), 2)}×`
  ])

  const targets: TargetResult[] = [
    { scenario: 2, target: 'added time to first delta, P50 ≤ 1 ms', measured: ms(addedTtfd, 2), pass: addedTtfd.median <= 1 },
    { scenario: 2, target: 'no coalescing (frames out = deltas in)', measured: `${framesOut} frames out / ${deltasIn} deltas in; ${multiReadsGw} paced reads carried > 1 delta`, pass: noCoalescing && errors === 0 }
  ]
  return {
    scenario: 2,
    title: 'Streaming',
    profiling,
    body: [
      `A raw \`node:http\` client (its own process) reads the SSE stream and stamps each frame on arrival. The paths (\`"stream": true\` on the gateway and the peers) are interleaved request by request. ` +
      `Time to first delta: ${p.ttfdIters} answers per path per round from the default bot (no pacing). ` +
      `Per-delta cost: ${p.slowIters} answers per path per round from \`${slowBot}\` (${p.slowBotMs} ms before each delta), comparing the gaps between consecutive delta frames. ` +
      'The minimal proxy relays Coze\'s own SSE bytes; the peers answer `"stream": true` with the gateway\'s frames (one `message_delta` per Coze delta, then `chat_completed` and `end`). "gateway ÷ this": the gateway\'s P50 over this path\'s.',
      table(['time to first delta', 'P50', 'P99', 'added P50 vs direct', 'added P99 vs direct', 'gateway ÷ this (P50)'], ttfdRows),
      table(['figure', 'direct', 'gateway', 'added by the gateway'], [
        [`gap between deltas (${slowBot}), P50`, ms(per(slowRounds, 'direct', gap50)), ms(per(slowRounds, 'gateway', gap50)), ms(diff(slowRounds, gap50))],
        [`gap between deltas (${slowBot}), P99`, ms(per(slowRounds, 'direct', gap99)), ms(per(slowRounds, 'gateway', gap99)), ms(diff(slowRounds, gap99))],
        [`mean gap between deltas (${slowBot})`, ms(per(slowRounds, 'direct', spreadPerDelta), 3), ms(per(slowRounds, 'gateway', spreadPerDelta), 3), ms(diff(slowRounds, spreadPerDelta), 3)]
      ]),
      'No coalescing, counted: ' + table(['count', 'value'], [
        ['gateway answers', String(gwAnswers)],
        ['deltas per answer sent by the emulator (seen directly)', [...directPerAnswer].join(', ')],
        ['deltas in (answers × deltas per answer)', String(deltasIn)],
        ['`message_delta` frames out of the gateway', String(framesOut)],
        ['gateway answers with exactly one frame per delta', everyAnswerWhole ? 'all' : 'NOT all'],
        [`reads carrying more than one delta, paced bot (gateway / direct)`, `${multiReadsGw} / ${multiReadsDirect}`],
        ['errors', String(errors)]
      ]).replace(/^/, '\n\n')
    ],
    targets,
    raw: {
      fast: fastRounds.map((round) => round.map((t) => ({ name: t.name, ttfdP50: ttfd50(t), ttfdP99: ttfd99(t), n: t.firstDeltaMs.length, errors: t.errors, firstError: t.firstError }))),
      slow: slowRounds.map((round) => round.map((t) => ({ name: t.name, gapP50: gap50(t), gapP99: gap99(t), meanGap: spreadPerDelta(t), multiDeltaReads: t.multiDeltaReads, errors: t.errors }))),
      framesOut, deltasIn, multiReadsGw, multiReadsDirect
    }
  }
}

// ---------------------------------------------------------------- scenario 3

type StreamsRound = StreamsSummary & { streams: number, baseline: number, peak: number, peakSampled: number, fileLimit: number, idleFiles: number, maxFiles: number, overflows: number, http2: boolean, filesPerStream: number }

/**
 * Sockets a stream holds in the gateway: the client's, and over HTTP/1.1 its own to Coze.
 * Scenario 3's gateway runs with COZE_HTTP2=true against the emulator's h2c port: its streams
 * share HTTP/2 connections (H2C_STREAMS_PER_CONNECTION each), so 10,000 streams fit the
 * machine's hard open-file limit of 20,000, which two sockets a stream did not. A gateway
 * that does not report coze_http2 (the "before" one, an older build) stays on HTTP/1.1.
 */
const FILES_PER_STREAM = { http1: 2, http2: 1 }
const SPARE_FILES = 16
/** COZE_HTTP2=true: the env of scenario 3's gateway (ignored by a build that predates it) */
const STREAMS_ENV = { COZE_HTTP2: 'true' }

/** The slow bot's pace for n streams: every stream lives long enough to overlap all the others (opening them takes n / streamOpenPerS). */
export function streamPaceMs (p: Params, n: number): number {
  return Math.max(p.streamBotMs, Math.ceil(((n / p.streamOpenPerS + p.streamHoldS) * 1000) / SHORT_DELTAS))
}

function streamsLoad (ctx: Ctx, gw: Server, n: number): StreamsLoad {
  const pace = streamPaceMs(ctx.p, n)
  return {
    target: { name: 'gateway', url: `${gw.url}/api/v1/chat`, body: gatewayBody(true, `bot-slow-${pace}`, SHORT_QUESTION), format: 'gateway-sse' },
    streams: n,
    expectedDeltas: SHORT_DELTAS,
    openPerS: ctx.p.streamOpenPerS,
    clients: ctx.p.streamClients,
    timeoutMs: SHORT_DELTAS * pace + 60_000
  }
}

/** A fresh gateway (`entry`, `env`, node flags), warmed by one short stream, so its baseline is a gateway that has served a chat. */
async function warmGateway (ctx: Ctx, entry: GatewayEntry, env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<Server> {
  const gw = await startGateway(ctx.emu, entry, { env, nodeFlags })
  await runClient<SeqResult>('warm', 'bench/clients/sequential.ts', { targets: [{ name: 'gateway', url: `${gw.url}/api/v1/chat`, body: gatewayBody(true), format: 'gateway-sse' }], iterations: 1, warmup: 0 } satisfies SeqInput)
  return gw
}

/** Whether the gateway's streams go to Coze over HTTP/2, as it reports it (/api/v1/config coze_http2). */
async function upstreamHttp2 (gw: Server): Promise<boolean> {
  const r = await fetch(`${gw.url}/api/v1/config`)
  const body = await r.json() as { data?: { coze_http2?: unknown } }
  return body.data?.coze_http2 === true
}

/** How many of n streams the gateway's open-file limit holds: a socket or two each, and over HTTP/2 one upstream connection per H2C_STREAMS_PER_CONNECTION. */
function streamsHeld (ctx: Ctx, gw: Server, n: number, http2: boolean): { streams: number, fileLimit: number, idleFiles: number, filesPerStream: number } {
  const fileLimit = openFileLimit(gw.proc.pid)
  const idleFiles = openFiles(gw.proc.pid)
  const filesPerStream = http2 ? FILES_PER_STREAM.http2 : FILES_PER_STREAM.http1
  const free = fileLimit - idleFiles - SPARE_FILES
  const streams = Math.min(n, http2
    ? Math.floor((free - 1) * H2C_STREAMS_PER_CONNECTION / (H2C_STREAMS_PER_CONNECTION + 1))
    : Math.floor(free / filesPerStream))
  if (streams < n) ctx.log(`the gateway's open-file limit (${fileLimit}) holds ${streams} streams, not ${n}`)
  return { streams, fileLimit, idleFiles, filesPerStream }
}

/**
 * One round of scenario 3 on a fresh gateway process. Fewer than n streams when the
 * gateway's open-file limit cannot hold n (its hard limit, which only CAP_SYS_RESOURCE can
 * raise): the round says how many it ran.
 */
async function streamsRound (ctx: Ctx, n: number, entry: GatewayEntry, env: Record<string, string> = {}): Promise<StreamsRound> {
  const gw = await warmGateway(ctx, entry, { ...STREAMS_ENV, ...env })
  try {
    const http2 = await upstreamHttp2(gw)
    const { streams, fileLimit, idleFiles, filesPerStream } = streamsHeld(ctx, gw, n, http2)
    let maxFiles = idleFiles
    const overflows0 = listenOverflows()
    const t = setInterval(() => { try { maxFiles = Math.max(maxFiles, openFiles(gw.proc.pid)) } catch { /* gone */ } }, 250)
    const s = await withRssSampling(gw.proc.pid, () => runStreams(streamsLoad(ctx, gw, streams))).finally(() => clearInterval(t))
    const peak = s.hwmReset ? Math.max(s.peakHwm, s.peakSampled) : s.peakSampled
    const overflows = listenOverflows() - overflows0
    if (s.result.errors > 0) ctx.log(`scenario 3: ${s.result.errors} errors ${JSON.stringify(s.result.errorKinds)}; the gateway ${gw.proc.child.exitCode === null ? 'is alive' : `exited (${gw.proc.child.exitCode})`}, ${maxFiles} files open at most, ${overflows} listen-queue overflows on the machine meanwhile; its last output:\n${gw.proc.output().slice(-1500)}`)
    return { ...s.result, streams, baseline: s.baseline, peak, peakSampled: s.peakSampled, fileLimit, idleFiles, maxFiles, overflows, http2, filesPerStream }
  } finally {
    await gw.proc.stop()
  }
}

export async function scenario3 (ctx: Ctx): Promise<Section> {
  const { p } = ctx
  const nMax = Math.max(...p.streamCounts)
  const nAb = Math.min(p.abStreams, nMax)
  const results: Record<number, StreamsRound[]> = {}
  const before: StreamsRound[] = []
  const after: StreamsRound[] = []
  for (const n of p.streamCounts) {
    results[n] = []
    for (let r = 0; r < p.rounds; r++) {
      ctx.log(`scenario 3: ${n} streams, round ${r + 1}/${p.rounds}`)
      results[n]!.push(await streamsRound(ctx, n, ctx.entry))
    }
  }
  // the "before" gateway (streams on axios's http adapter) at nAb streams, a fresh process per
  // round; its "after" is the current gateway's rounds at nAb (run above when nAb is a count)
  if (ctx.beforeEntry) {
    for (let r = 0; r < p.rounds; r++) {
      ctx.log(`scenario 3: ${nAb} streams on the "before" gateway, round ${r + 1}/${p.rounds}`)
      before.push(await streamsRound(ctx, nAb, ctx.beforeEntry.entry, ctx.beforeEntry.env))
      after.push(results[nAb]?.[r] ?? await streamsRound(ctx, nAb, ctx.entry))
    }
  }
  const perStreamKb = (x: StreamsRound) => (x.peak - x.baseline) / x.streams / 1024
  const ran = (rs: StreamsRound[]) => [...new Set(rs.map((x) => x.streams))]
  const rows = p.streamCounts.map((n) => {
    const rs = results[n]!
    const held = ran(rs)
    return [
      held.length === 1 && held[0] === n ? String(n) : `${held.join(', ')} (of ${n})`,
      `\`bot-slow-${streamPaceMs(p, n)}\``,
      String(sum(rs.map((x) => x.errors))),
      fmtSpread(spread(rs.map((x) => x.maxOpen)), 0),
      fmtSpread(spread(rs.map((x) => x.maxFiles)), 0),
      fmtSpread(spread(rs.map((x) => x.baseline / MB)), 0, ' MB'),
      fmtSpread(spread(rs.map((x) => x.peak / MB)), 0, ' MB'),
      fmtSpread(spread(rs.map(perStreamKb)), 1, ' KB'),
      fmtSpread(spread(rs.map((x) => x.allOpenMs / 1000)), 1, ' s'),
      fmtSpread(spread(rs.map((x) => x.openRate)), 0, '/s'),
      fmtSpread(spread(rs.map((x) => x.totalMs / 1000)), 1, ' s')
    ]
  })
  const big = results[nMax]!
  const errs = sum(big.map((x) => x.errors))
  const kb = spread(big.map(perStreamKb))
  const short = big.filter((x) => x.streams < nMax)
  const kinds: Record<string, number> = {}
  for (const rs of Object.values(results)) for (const x of rs) for (const [k, v] of Object.entries(x.errorKinds)) kinds[k] = (kinds[k] ?? 0) + v
  const allOverlapped = big.every((x) => x.maxOpen === x.streams)
  const limits = [...new Set(Object.values(results).flat().map((x) => x.fileLimit))]
  const proto = (rs: StreamsRound[]) => rs.length === 0 ? '–' : rs.every((x) => x.http2) ? 'HTTP/2 (h2c)' : rs.every((x) => !x.http2) ? 'HTTP/1.1' : 'HTTP/2 and HTTP/1.1'
  const allH2 = Object.values(results).flat().every((x) => x.http2)
  const profiling = before.length
    ? [table([`figure (scenario 3, ${nAb.toLocaleString('en-US')} streams, this run)`, `before: streams on axios http, ${proto(before)} to Coze`, `after: streams on undici, ${proto(after)} to Coze`, 'after / before'], [
        ['peak RSS', fmtSpread(spread(before.map((x) => x.peak / MB)), 0, ' MB'), fmtSpread(spread(after.map((x) => x.peak / MB)), 0, ' MB'), `${fmtSpread(spread(after.map((x, i) => before[i] ? x.peak / before[i]!.peak : NaN)), 2)}×`],
        ['RSS per stream', fmtSpread(spread(before.map(perStreamKb)), 1, ' KB'), fmtSpread(spread(after.map(perStreamKb)), 1, ' KB'), '–'],
        ['errors', String(sum(before.map((x) => x.errors))), String(sum(after.map((x) => x.errors))), '–']
      ])]
    : []
  return {
    scenario: 3,
    title: 'Many open streams',
    profiling,
    body: [
      `A fresh gateway process per round, warmed by one chat; then ${p.streamClients} client process${p.streamClients > 1 ? 'es' : ''} (their own) open N SSE chats together, ${p.streamOpenPerS} per second in batches every 100 ms, ` +
      `to \`bot-slow-<ms>\` ("${SHORT_QUESTION}": ${SHORT_DELTAS} deltas, <ms> apart; Coze's headers and first events come at once, then the stream stays quiet, as a chat waiting on a model does). ` +
      `The pace is chosen per N so that every stream outlives the opening of all the others by ${p.streamHoldS} s. ` +
      'A stream counts as open from its first bytes (the gateway\'s SSE headers leave with the first frame) to its end; "open at once" merges the clients\' timestamps. ' +
      'A stream counts as good only if it answers 200, relays every delta, then `chat_completed` and `end`. ' +
      'Peak RSS is the gateway process\'s `VmHWM` (reset through `/proc/<pid>/clear_refs` before the load) and `VmRSS` polled every 20 ms, whichever is higher; RSS per stream is (peak − baseline) / N. ' +
      `The gateway, the emulator and the clients run with an open-file limit of ${limits.map((l) => l.toLocaleString('en-US')).join(' / ')} (raised by the benchmark with \`ulimit -n\` in the shell that starts them; the product sets none). ` +
      (allH2
        ? `**The gateway's upstream here is HTTP/2 (h2c)**: it runs with \`COZE_HTTP2=true\` against the emulator's h2c port, so its streams share a few connections to Coze (up to ${H2C_STREAMS_PER_CONNECTION.toLocaleString('en-US')} streams each) and a stream holds one socket in the gateway, the client's. `
        : `**The gateway's upstream here is ${proto(Object.values(results).flat())}**: it was started with \`COZE_HTTP2=true\` but did not report \`coze_http2: true\` in every round. `) +
      'Why: over HTTP/1.1 a stream holds two sockets (the client\'s and its own to Coze), and the hard open-file limit then holds half as many streams as it has files (raising a hard limit needs CAP_SYS_RESOURCE, which this machine does not grant: 20,000 files held 9,979 streams). The clients still speak HTTP/1.1 to the gateway, a socket per stream.' +
      (before.length ? ' The "before" gateway does not use COZE_HTTP2 (its streams go through the SDK; an older build does not know it): it stays on HTTP/1.1.' : ''),
      table(['streams', 'bot', 'errors', 'open at once (max)', 'gateway files open (max)', 'baseline RSS', 'peak RSS', 'RSS per stream', 'all open after', 'opened', 'run time'], rows),
      Object.keys(kinds).length
        ? `Error kinds: ${Object.entries(kinds).map(([k, v]) => `${k} × ${v}`).join(', ')}. Connections the machine dropped from full listen queues during the rounds (\`TcpExt ListenOverflows\`, every process on the machine): ${Object.values(results).flat().map((x) => x.overflows).join(', ')}; a gateway too busy to accept (GC pauses with a large heap, a shared machine) shows there, its clients then see resets and timeouts.`
        : 'No stream failed.',
      ...(short.length ? [`**${nMax.toLocaleString('en-US')} streams could not be held on this machine**: each stream holds ${short[0]!.filesPerStream === 1 ? 'a socket' : `${short[0]!.filesPerStream} sockets`} in the gateway (${short[0]!.http2 ? 'the client\'s; the upstream ones are shared over HTTP/2' : 'the client\'s and the one to Coze'}), and the hard open-file limit here is ${short[0]!.fileLimit.toLocaleString('en-US')} (raising a hard limit needs CAP_SYS_RESOURCE, which this machine does not grant); the rounds ran the most streams that limit holds.`] : [])
    ],
    targets: [{
      scenario: 3,
      target: `${nMax.toLocaleString('en-US')} concurrent quiet streams in one process, 0 errors, ≤ 50 KB RSS each`,
      measured: `${errs} errors, ${fmtSpread(kb, 1, ' KB')} per stream${allOverlapped ? '' : ` (not all open at once: ${big.map((x) => x.maxOpen).join(', ')})`}` +
        (short.length ? `; **not measured at ${nMax.toLocaleString('en-US')}**: measured at ${ran(big).join(', ')}, all the gateway's open-file limit of ${short[0]!.fileLimit.toLocaleString('en-US')} holds (${short[0]!.filesPerStream} socket${short[0]!.filesPerStream === 1 ? '' : 's'} a stream, ${short[0]!.idleFiles} files open idle)` : '') +
        `; upstream ${proto(big)}`,
      pass: errs === 0 && kb.median <= 50 && allOverlapped && short.length === 0
    }],
    raw: { results, before, after }
  }
}

// ---------------------------------------------------------------- heap snapshot

/** Waits for a new, complete .heapsnapshot in dir (V8 writes it from the main thread; the file ends with "]}"). */
async function nextSnapshot (dir: string, known: Set<string>, timeoutMs: number): Promise<string> {
  const start = performance.now()
  while (performance.now() - start < timeoutMs) {
    const f = readdirSync(dir).find((x) => x.endsWith('.heapsnapshot') && !known.has(x))
    if (f) {
      const file = path.join(dir, f)
      const size = statSync(file).size
      if (size > 2) {
        const fd = openSync(file, 'r')
        const tail = Buffer.alloc(2)
        readSync(fd, tail, 0, 2, size - 2)
        closeSync(fd)
        if (tail.toString() === ']}') { known.add(f); return file }
      }
    }
    await sleep(200)
  }
  throw new Error(`no heap snapshot in ${dir} after ${timeoutMs} ms`)
}

/** Not SIGUSR2: close-with-grace shuts the gateway down on it. SIGWINCH is ignored by default and unused here (no TTY). */
const SNAPSHOT_SIGNAL = 'SIGWINCH'

/**
 * `--heap-snapshot N`: a fresh gateway under --heapsnapshot-signal, one snapshot idle (after
 * a warm-up chat) and one holding N quiet streams; the difference per constructor / kind,
 * divided by N. The snapshots stay in os.tmpdir() for DevTools (for an hour: the next run removes older ones).
 */
export async function heapSnapshot (ctx: Ctx, want: number): Promise<{ markdown: string, dir: string }> {
  // earlier runs' snapshots (hundreds of MB each); not those of a run that may still be going
  for (const old of readdirSync(os.tmpdir()).filter((f) => f.startsWith('coze-bench-heap-'))) {
    const d = path.join(os.tmpdir(), old)
    if (Date.now() - statSync(d).mtimeMs > 3_600_000) rmSync(d, { recursive: true, force: true })
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coze-bench-heap-'))
  const gw = await warmGateway(ctx, ctx.entry, STREAMS_ENV, [`--heapsnapshot-signal=${SNAPSHOT_SIGNAL}`, `--diagnostic-dir=${dir}`])
  const known = new Set<string>()
  const http2 = await upstreamHttp2(gw)
  const n = streamsHeld(ctx, gw, want, http2).streams
  let loaded = ''
  try {
    await sleep(500)
    ctx.log('heap snapshot: idle')
    gw.proc.child.kill(SNAPSHOT_SIGNAL)
    const idle = await nextSnapshot(dir, known, 120_000)
    ctx.log(`heap snapshot: opening ${n} streams`)
    const r = await runStreams(streamsLoad(ctx, gw, n), {
      async onAllOpen () {
        ctx.log(`heap snapshot: ${n} streams open`)
        gw.proc.child.kill(SNAPSHOT_SIGNAL)
        loaded = await nextSnapshot(dir, known, 600_000)
      }
    })
    if (!loaded) throw new Error(`the ${n} streams were never all open at once: ${r.errors} errors (${JSON.stringify(r.errorKinds)}); gateway output:\n${gw.proc.output().slice(-2000)}`)
    ctx.log('heap snapshot: summarising')
    const [a, b] = [analyse(await readSnapshot(idle)), analyse(await readSnapshot(loaded))]
    const d = diff(a, b, n, 25)
    return {
      dir,
      markdown: `A fresh gateway (\`node --heapsnapshot-signal=${SNAPSHOT_SIGNAL}\`), warmed by one chat: one snapshot idle, one with ${n.toLocaleString('en-US')} quiet streams open (scenario 3's load, ${r.errors} errors; upstream ${http2 ? 'HTTP/2 (h2c, `COZE_HTTP2=true`)' : 'HTTP/1.1'}). ` +
        'Per stream: (with streams − idle) / N, per constructor or kind of object; self size is the objects\' own bytes, retained size what freeing them would free (dominator tree, as DevTools\' Summary). ' +
        `The snapshots: \`${dir}\` (\`tsx bench/heap-summary.ts <idle> <loaded> --per ${n}\` summarises them again).\n\n` + diffMarkdown(d)
    }
  } finally {
    await gw.proc.stop()
  }
}

// ---------------------------------------------------------------- scenario 4

export async function scenario4 (ctx: Ctx): Promise<Section> {
  const { p, emu } = ctx
  const gw = await startGateway(emu, ctx.entry)
  const rounds: Array<{ results: UploadResult[], baseline: number, peak: number }> = []
  try {
    // warm-up: load multipart, form-data and the upload path once
    await runClient<UploadResult[]>('upload-warm', 'bench/clients/upload.ts', { targets: [{ name: 'gateway', url: `${gw.url}/api/v1/upload` }], bytes: 64 * 1024 } satisfies UploadInput)
    const targets = [
      { name: 'direct', url: `${emu.url}/v1/files/upload`, headers: auth(emu) },
      { name: 'gateway', url: `${gw.url}/api/v1/upload` }
    ]
    for (let r = 0; r < p.rounds; r++) {
      ctx.log(`scenario 4 round ${r + 1}/${p.rounds}`)
      const s = await withRssSampling(gw.proc.pid, () => runClient<UploadResult[]>('upload', 'bench/clients/upload.ts', { targets: rotate(targets, r), bytes: p.uploadBytes } satisfies UploadInput, { timeoutMs: 120_000 }), 5)
      rounds.push({ results: s.result, baseline: s.baseline, peak: s.hwmReset ? Math.max(s.peakHwm, s.peakSampled) : s.peakSampled })
    }
  } finally {
    await gw.proc.stop()
  }
  const get = (rr: UploadResult[], name: string) => rr.find((x) => x.name === name)!
  const mbps = (x: UploadResult) => (p.uploadBytes / MB) / (x.ms / 1000)
  const growth = spread(rounds.map((r) => (r.peak - r.baseline) / p.uploadBytes))
  const errors = rounds.flatMap((r) => r.results.filter((x) => x.status !== 200 || x.storedBytes !== p.uploadBytes))
  const size = p.uploadBytes >= MB ? `${fmt(p.uploadBytes / MB, 0)} MiB` : `${fmt(p.uploadBytes / 1024, 0)} KiB`
  return {
    scenario: 4,
    title: 'Upload',
    body: [
      `A ${size} file of random bytes, sent as multipart in 64 KB writes by a client process, to the gateway (\`POST /api/v1/upload\`, streamed on to Coze through the SDK) and directly to the emulator (\`/v1/files/upload\`), in turn. ` +
      'A fresh gateway, warmed by one small upload. The RSS growth is the gateway process\'s peak RSS during the round (`VmHWM` after a reset, and `VmRSS` polled every 5 ms) minus its RSS before.',
      table(['figure', 'direct to the emulator', 'through the gateway', 'ratio'], [
        ['upload time', ms(spread(rounds.map((r) => get(r.results, 'direct').ms)), 0), ms(spread(rounds.map((r) => get(r.results, 'gateway').ms)), 0), `${fmtSpread(spread(rounds.map((r) => get(r.results, 'gateway').ms / get(r.results, 'direct').ms)), 2)}× the time`],
        ['throughput', fmtSpread(spread(rounds.map((r) => mbps(get(r.results, 'direct')))), 0, ' MiB/s'), fmtSpread(spread(rounds.map((r) => mbps(get(r.results, 'gateway')))), 0, ' MiB/s'), `${fmtSpread(spread(rounds.map((r) => mbps(get(r.results, 'gateway')) / mbps(get(r.results, 'direct')))), 2)}×`],
        ['gateway RSS before → peak', '–', fmtSpread(spread(rounds.map((r) => r.baseline / MB)), 0, ' MB') + ' → ' + fmtSpread(spread(rounds.map((r) => r.peak / MB)), 0, ' MB'), '–'],
        ['gateway peak RSS growth', '–', fmtSpread(spread(rounds.map((r) => (r.peak - r.baseline) / MB)), 1, ' MB'), `${fmtSpread(growth, 2)}× the file`]
      ]),
      errors.length ? `Failed uploads: ${errors.map((e) => `${e.name}: ${e.status} ${e.error ?? `stored ${e.storedBytes} bytes`}`).join('; ')}.` : 'Every upload answered 200 with the full byte count stored.'
    ],
    targets: [{ scenario: 4, target: 'peak RSS growth ≤ 2× the file size', measured: `${fmtSpread(growth, 2)}× (${size})`, pass: growth.median <= 2 && errors.length === 0 }],
    raw: rounds
  }
}

// ---------------------------------------------------------------- scenario 5

const BARE = "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')"

export async function scenario5 (ctx: Ctx): Promise<Section> {
  const { p, emu } = ctx
  const gwMs: number[] = []
  const bareMs: number[] = []
  const script = path.join(ROOT, ctx.entry.script)
  if (!existsSync(script)) throw new Error(`${ctx.entry.script} is missing: run npm run build`)
  const runs = Math.max(p.coldStarts, p.rounds)
  for (let r = 0; r < runs; r++) {
    ctx.log(`scenario 5 run ${r + 1}/${runs}`)
    for (const which of r % 2 ? ['bare', 'gateway'] : ['gateway', 'bare']) {
      const port = await freePort()
      const t0 = performance.now()
      const proc = which === 'gateway'
        ? spawnNode('cold-gateway', script, [], { ts: ctx.entry.ts, nodeFlags: ctx.entry.nodeFlags, env: gatewayEnv(emu, port) })
        : spawnNode('cold-bare', '-e', [BARE], { env: { PORT: String(port) } })
      try {
        await waitForStatus(`http://127.0.0.1:${port}${which === 'gateway' ? '/health' : '/'}`, 200, 30_000, 2)
        const t = performance.now() - t0
        if (which === 'gateway') gwMs.push(t)
        else bareMs.push(t)
      } finally {
        await proc.stop()
      }
    }
  }
  const gw = spread(gwMs)
  const bare = spread(bareMs)
  const ratio = spread(gwMs.map((g, i) => g / bareMs[i]!))
  const entry = ctx.entry.ts ? `tsx ${ctx.entry.script} (smoke run: sources, not dist/)` : ['node', ...ctx.entry.nodeFlags, ctx.entry.script].join(' ')
  return {
    scenario: 5,
    title: 'Cold start',
    body: [
      `From \`spawn()\` to the first \`200\` on \`GET /health\` (polled every 2 ms), \`${entry}\` (what \`npm start\` runs), ${runs} runs, ` +
      'alternating with a bare `node:http` hello-world process started the same way (the floor: Node\'s own start-up). The ratio is taken run by run, each gateway start over the bare start next to it.',
      table(['process', 'spawn → first 200', 'ratio'], [
        ['bare `node:http` server', ms(bare, 0), '1.00'],
        ['**gateway**', ms(gw, 0), `${fmtSpread(ratio, 2)}×`]
      ])
    ],
    targets: [{
      scenario: 5,
      target: 'cold start, spawn → first `/health` 200 ≤ 500 ms, and ≤ 6× a bare node:http server started the same way in the same run',
      measured: `${ms(gw, 0)}, ${fmtSpread(ratio, 2)}× the bare server's ${ms(bare, 0)}`,
      pass: gw.median <= 500 && ratio.median <= 6
    }],
    raw: { gatewayMs: gwMs, bareMs }
  }
}

// ---------------------------------------------------------------- scenario 6

/** The metrics may cost at most this share of the gateway's throughput (issue 13). */
const METRICS_BUDGET = 0.03

interface PairRun { a: LoadResult & { cpuUsPerReq: number }, b: LoadResult & { cpuUsPerReq: number } }

/** `runs` times: both gateways under the same load at the same moment (two load generators), so the machine's noise falls on both alike. */
async function pairs (ctx: Ctx, label: string, a: LoadSetup, b: LoadSetup, runs: number): Promise<PairRun[]> {
  const out: PairRun[] = []
  for (let i = 0; i < runs; i++) {
    ctx.log(`scenario 6: ${label}, ${i + 1}/${runs}`)
    const [ra, rb] = await Promise.all([load(a, ctx.p.connections, ctx.p.loadS), load(b, ctx.p.connections, ctx.p.loadS)])
    out.push({ a: ra, b: rb })
  }
  return out
}

export async function scenario6 (ctx: Ctx): Promise<Section> {
  const { p, gateway, noMetrics } = ctx
  if (!noMetrics) throw new Error('scenario 6 needs the gateway without metrics (run without --no-ab)')
  const setup = (key: string, s: Server): LoadSetup => ({ key, label: key, url: `${s.url}/api/v1/chat`, body: gatewayBody(false), pid: s.proc.pid })
  // a second gateway with metrics: the same measurement between two identical processes is the noise floor
  const twin = await startGateway(ctx.emu, ctx.entry, { name: 'gateway-twin' })
  const runs = p.rounds * 4
  let ab: PairRun[]
  let aa: PairRun[]
  let sse: SeqResult[]
  try {
    const on = setup('on', gateway)
    const off = setup('off', noMetrics)
    const on2 = setup('on2', twin)
    if (p.warmupS > 0) await Promise.all([on, off, on2].map((s) => load(s, p.connections, p.warmupS)))
    ab = await pairs(ctx, 'metrics on and off', on, off, runs)
    aa = await pairs(ctx, 'two gateways with metrics (noise floor)', on, on2, runs)
    sse = []
    for (let r = 0; r < p.rounds; r++) {
      ctx.log(`scenario 6 round ${r + 1}/${p.rounds}: time to first delta`)
      const targets: Target[] = [
        { name: 'on', url: on.url, body: gatewayBody(true), format: 'gateway-sse' },
        { name: 'off', url: off.url, body: gatewayBody(true), format: 'gateway-sse' }
      ]
      sse.push(await runClient<SeqResult>('first-delta', 'bench/clients/sequential.ts', { targets: rotate(targets, r), iterations: p.ttfdIters, warmup: Math.min(20, p.ttfdIters) } satisfies SeqInput, { timeoutMs: 300_000 }))
    }
  } finally {
    await twin.proc.stop()
  }
  // over all runs: requests per second and CPU per request of each side, and their ratio
  const total = (xs: PairRun[], side: 'a' | 'b') => {
    const requests = sum(xs.map((x) => x[side].requests))
    return { rps: requests / sum(xs.map((x) => x[side].durationS)), cpu: sum(xs.map((x) => x[side].cpuUsPerReq * x[side].requests)) / requests }
  }
  /** "min – max" of a per-run figure */
  const perRun = (xs: PairRun[], f: (x: PairRun) => number) => {
    const sp = spread(xs.map(f))
    return `${fmt(sp.min, 3)} – ${fmt(sp.max, 3)}`
  }
  const abOn = total(ab, 'a')
  const abOff = total(ab, 'b')
  const aaA = total(aa, 'a')
  const aaB = total(aa, 'b')
  const rpsRatio = abOn.rps / abOff.rps
  const cost = (x: number) => `${fmt((1 - x) * 100, 1)} %`
  const ttfd = (name: string, q: number) => spread(sse.map((round) => percentile(round.find((t) => t.name === name)!.firstDeltaMs, q)))
  const ttfdAdded = spread(sse.map((round) => percentile(round.find((t) => t.name === 'on')!.firstDeltaMs, 50) - percentile(round.find((t) => t.name === 'off')!.firstDeltaMs, 50)))
  const errors = sum([...ab, ...aa].map((x) => x.a.errors + x.a.non2xx + x.a.timeouts + x.b.errors + x.b.non2xx + x.b.timeouts)) + sum(sse.flatMap((round) => round.map((t) => t.errors)))
  const noise = Math.abs(1 - aaA.rps / aaB.rps)
  return {
    scenario: 6,
    title: 'Cost of the metrics',
    body: [
      'The gateway as it runs (metrics on) next to the same build with `METRICS_ENABLED=false` (no prom-client recording, no `/metrics`), against the same emulator. ' +
      'Both still time their Coze calls for `Server-Timing`, the SSE `timing` and the log line: those are part of every answer, not of the metrics. ' +
      `Throughput: both gateways under load **at the same moment**, each from its own autocannon process (${p.connections} connections, \`POST /api/v1/chat\`, JSON), ${runs} runs of ${p.loadS} s, ` +
      'so the noise of this shared machine falls on both alike; the figures are over all runs, with the spread of the per-run ratio in brackets. ' +
      'The same measurement between two identical gateways with metrics gives the noise floor: a difference smaller than it is not a measured cost. ' +
      `Time to first delta: ${p.ttfdIters} streamed chats per gateway per round, interleaved request by request.`,
      table(['figure', 'metrics off', 'metrics on', 'on / off', 'noise floor: on / on'], [
        ['req/s', fmt(abOff.rps, 0), fmt(abOn.rps, 0), `${fmt(rpsRatio, 3)}× (${perRun(ab, (x) => x.a.rps / x.b.rps)})`, `${fmt(aaA.rps / aaB.rps, 3)}×`],
        ['gateway CPU per request', `${fmt(abOff.cpu, 0)} µs`, `${fmt(abOn.cpu, 0)} µs`, `${fmt(abOn.cpu / abOff.cpu, 3)}× (${perRun(ab, (x) => x.a.cpuUsPerReq / x.b.cpuUsPerReq)})`, `${fmt(aaA.cpu / aaB.cpu, 3)}×`],
        ['time to first delta, P50', ms(ttfd('off', 50)), ms(ttfd('on', 50)), `${ms(ttfdAdded)} added`, '–'],
        ['time to first delta, P99', ms(ttfd('off', 99)), ms(ttfd('on', 99)), '–', '–']
      ]),
      `Errors: ${errors}.`
    ],
    targets: [{
      scenario: 6,
      target: `metrics cost < ${METRICS_BUDGET * 100} % of throughput`,
      measured: `${cost(rpsRatio)} of req/s (noise floor ${fmt(noise * 100, 1)} %); CPU per request ${fmt(abOn.cpu / abOff.cpu, 3)}×`,
      pass: rpsRatio >= 1 - METRICS_BUDGET && errors === 0
    }],
    raw: { ab, aa, ttfd: sse.map((round) => round.map((t) => ({ name: t.name, p50: percentile(t.firstDeltaMs, 50), p99: percentile(t.firstDeltaMs, 99), errors: t.errors }))) }
  }
}

/** Removes profiles older than the newest few, so bench/.profiles does not grow forever. */
export function pruneProfiles (keep = 4): void {
  const dir = path.join(ROOT, 'bench/.profiles')
  if (!existsSync(dir)) return
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(path.join(dir, b)).mtimeMs - statSync(path.join(dir, a)).mtimeMs)
  for (const f of files.slice(keep)) rmSync(path.join(dir, f))
}

