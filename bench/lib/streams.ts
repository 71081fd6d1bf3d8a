// Scenario 3's load: N concurrent SSE chats, split over several client processes (each
// with its own raised open-file limit), merged into one count of how many were open at once.
import { spawnNode, type Proc } from './proc.js'
import type { Target } from '../clients/exchange.js'
import type { StreamsInput, StreamsResult } from '../clients/streams.js'

export interface StreamsLoad {
  target: Target
  streams: number
  expectedDeltas: number
  /** streams opened per second, all clients together (in batches every 100 ms) */
  openPerS: number
  /** client processes */
  clients: number
  /** per stream, ms */
  timeoutMs: number
}

export interface StreamsSummary {
  ok: number
  errors: number
  errorKinds: Record<string, number>
  /** most streams open (headers received, not yet ended) at the same moment */
  maxOpen: number
  /** first request → headers of the last stream, ms */
  allOpenMs: number
  /** first request → end of the last stream, ms */
  totalMs: number
  /** streams opened per second (headers received), first to last */
  openRate: number
  deltas: number
}

const BATCH_EVERY_MS = 100

/** Most intervals [open, close) overlapping at one moment (an end before a start at the same instant). */
export function maxOverlap (opened: number[], closed: number[]): number {
  const ev: Array<[number, number]> = []
  for (let i = 0; i < opened.length; i++) {
    ev.push([opened[i]!, 1])
    ev.push([Number.isFinite(closed[i]) ? closed[i]! : Infinity, -1])
  }
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let open = 0
  let max = 0
  for (const [, d] of ev) max = Math.max(max, (open += d))
  return max
}

/**
 * Runs the load to its end. `onAllOpen` runs once every stream has its headers, while they
 * are still open (the heap snapshot); the streams go on meanwhile.
 */
export async function runStreams (load: StreamsLoad, hooks: { onAllOpen?: () => Promise<void> } = {}): Promise<StreamsSummary> {
  const k = Math.max(1, Math.min(load.clients, load.streams))
  const batch = Math.max(1, Math.round(load.openPerS / (1000 / BATCH_EVERY_MS) / k))
  const procs: Proc[] = []
  for (let i = 0; i < k; i++) {
    const n = Math.floor(load.streams / k) + (i < load.streams % k ? 1 : 0)
    const input: StreamsInput = { target: load.target, streams: n, expectedDeltas: load.expectedDeltas, batch, batchEveryMs: BATCH_EVERY_MS, timeoutMs: load.timeoutMs }
    procs.push(spawnNode(`streams-${i + 1}`, 'bench/clients/streams.ts', [JSON.stringify(input)], { ts: true, manyFiles: true, keepStdout: true }))
  }
  const kill = setTimeout(() => { for (const p of procs) void p.stop(500) }, load.timeoutMs + (load.streams / load.openPerS) * 1000 + 60_000)
  let hook: Promise<void> | undefined
  if (hooks.onAllOpen) {
    let waiting = k
    for (const p of procs) {
      const onData = () => {
        if (!p.stdout().includes('{"allOpen":true}')) return
        p.child.stdout!.off('data', onData)
        if (--waiting === 0) hook = hooks.onAllOpen!()
      }
      p.child.stdout!.on('data', onData)
    }
  }
  try {
    const codes = await Promise.all(procs.map((p) => p.exited))
    await hook
    const parts = procs.map((p, i) => {
      const last = p.stdout().trim().split('\n').pop() ?? ''
      if (codes[i] !== 0 || !last.startsWith('{"ok"')) throw new Error(`${p.name} failed (exit ${codes[i]}):\n${p.output().slice(-4000)}`)
      return JSON.parse(last) as StreamsResult
    })
    const opened = parts.flatMap((r) => r.openedAt)
    const closed = parts.flatMap((r) => r.closedAt)
    const start = Math.min(...parts.map((r) => r.startedAt))
    const errorKinds: Record<string, number> = {}
    for (const r of parts) for (const [kind, v] of Object.entries(r.errorKinds)) errorKinds[kind] = (errorKinds[kind] ?? 0) + v
    const allOpenMs = opened.length === load.streams ? Math.max(...opened) - start : NaN
    return {
      ok: parts.reduce((a, r) => a + r.ok, 0),
      errors: parts.reduce((a, r) => a + r.errors, 0),
      errorKinds,
      maxOpen: maxOverlap(opened, closed),
      allOpenMs,
      totalMs: Math.max(...parts.map((r) => r.endedAt)) - start,
      openRate: load.streams / (allOpenMs / 1000),
      deltas: parts.reduce((a, r) => a + r.deltas, 0)
    }
  } finally {
    clearTimeout(kill)
    for (const p of procs) await p.stop(500)
  }
}
