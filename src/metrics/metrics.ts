// The gateway's Prometheus metrics (prom-client), one registry per app; the process's
// default metrics live in one registry per process, shared by every app in it. No Fastify
// here: the Coze client, the chat service, the session store and the HTTP layer all
// record through this one object. Every label value comes from a bounded set.
//
// A request does not pay prom-client's label validation and hashing: counters add to a
// plain number per series and histograms queue their values, both handed to prom-client
// when it is scraped (histograms also every BATCH values). Measured in bench/ (scenario 6).
import type { CredentialState } from '../coze/credentials.js'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type HistogramConfiguration, type LabelValues } from 'prom-client'
import type { Usage } from '../coze/chat.js'
import type { UpstreamRecorder } from '../coze/client.js'
import type { Surface } from '../chat/types.js'

export type StreamOutcome = 'completed' | 'error' | 'client_gone' | 'shutdown'
export type ChatStatus = 'completed' | 'requires_action' | 'failed' | 'canceled'
export const REFUSAL_REASONS = ['rate_limited', 'quota_exceeded', 'too_many_streams', 'unauthorized', 'forbidden', 'conversation_busy'] as const
export type RefusalReason = typeof REFUSAL_REASONS[number]

export interface MetricsOptions {
  enabled: boolean
  version: string
  upstreamMode: string
  /** Bot (and chatflow) ids that get their own `bot` label value; any other is `other`. */
  bots: Iterable<string>
  /** The Coze credentials' states now (coze_gateway_credentials, read on scrape). */
  credentials?: (() => Array<{ state: CredentialState }>) | undefined
}

/** At most this many configured bots get a label value of their own (the rest: `other`). */
export const MAX_BOT_LABELS = 200
/** Key ids are configured ones; past this many distinct ids, `other`. */
export const MAX_KEY_LABELS = 1000
/** Coze codes come from Coze, not clients; still, past this many distinct ones, `other`. */
export const MAX_COZE_CODE_LABELS = 100

const OTHER = 'other'
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** A label whose values are the first `cap` distinct ones seen (or given); later ones are `other`. */
class BoundedLabel {
  private readonly values = new Set<string>()
  constructor (private readonly cap: number, private readonly open: boolean, known: Iterable<string> = []) {
    for (const v of known) if (v && this.values.size < cap) this.values.add(v)
  }

  of (v: string): string {
    if (this.values.has(v)) return v
    if (!this.open || this.values.size >= this.cap) return OTHER
    this.values.add(v)
    return v
  }
}

/** A histogram series hands its queued values to prom-client at the latest after this many. */
const BATCH = 256

interface Series<L extends string> { labels: LabelValues<L>, n: number, values: number[] }

/** The series of one metric by a key of its label values; each keeps its label object, built once. */
class SeriesMap<L extends string> extends Map<string, Series<L>> {
  at (key: string, labels: () => LabelValues<L>): Series<L> {
    let x = this.get(key)
    if (!x) {
      x = { labels: labels(), n: 0, values: [] }
      this.set(key, x)
    }
    return x
  }
}

/** A prom-client counter fed by plain sums, flushed when scraped. */
class SummedCounter<L extends string> {
  readonly metric: Counter<L>
  private readonly series = new SeriesMap<L>()

  constructor (cfg: CounterConfiguration<L>) {
    const series = this.series
    this.metric = new Counter<L>({
      ...cfg,
      collect () {
        for (const x of series.values()) {
          if (x.n !== 0) this.inc(x.labels, x.n)
          x.n = 0
        }
      }
    })
  }

  inc (key: string, labels: () => LabelValues<L>, n = 1): void {
    this.series.at(key, labels).n += n
  }
}

/** A prom-client histogram fed in batches, flushed when scraped. */
class BatchedHistogram<L extends string> {
  readonly metric: Histogram<L>
  private readonly series = new SeriesMap<L>()

  constructor (cfg: HistogramConfiguration<L>) {
    const flushAll = () => { for (const x of this.series.values()) this.flush(x) }
    this.metric = new Histogram<L>({ ...cfg, collect () { flushAll() } })
  }

  observe (key: string, labels: () => LabelValues<L>, seconds: number): void {
    const x = this.series.at(key, labels)
    if (x.values.push(seconds) >= BATCH) this.flush(x)
  }

  private flush (x: Series<L>): void {
    for (const v of x.values) this.metric.observe(x.labels, v)
    x.values.length = 0
  }
}

let processRegistry: Registry | undefined

/** The process's own metrics (CPU, memory, event loop, GC), collected once per process. */
function processMetrics (): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

const seconds = (ms: number) => ms / 1000

export class Metrics implements UpstreamRecorder {
  readonly enabled: boolean
  /** What GET /metrics renders: this app's metrics and the process's. */
  readonly registry: Registry
  private readonly bots: BoundedLabel
  private readonly keys = new BoundedLabel(MAX_KEY_LABELS, true)
  private readonly cozeCodes = new BoundedLabel(MAX_COZE_CODE_LABELS, true)

  private readonly httpRequests: SummedCounter<'route' | 'method' | 'status'>
  private readonly httpDuration: BatchedHistogram<'route' | 'method'>
  private readonly upstreamRequests: SummedCounter<'endpoint' | 'outcome' | 'coze_code'>
  private readonly firstDelta: BatchedHistogram<'surface'>
  private readonly streamDuration: Histogram<'surface' | 'outcome'>
  private readonly openStreams: Gauge<'surface'>
  private readonly tokens: SummedCounter<'bot' | 'key' | 'kind'>
  private readonly chats: SummedCounter<'bot' | 'key' | 'status'>
  private readonly refusals: Counter<'reason'>
  private readonly queueWait: BatchedHistogram<never>
  private readonly storeErrors: Counter<'store' | 'op'>
  private readonly overhead: BatchedHistogram<'surface'>

  constructor (opts: MetricsOptions) {
    this.enabled = opts.enabled
    this.bots = new BoundedLabel(MAX_BOT_LABELS, false, opts.bots)
    const own = new Registry()
    const registers = [own]
    const p = 'coze_gateway_'
    this.httpRequests = new SummedCounter({ name: `${p}http_requests_total`, help: 'HTTP requests answered, by route pattern, method and status', labelNames: ['route', 'method', 'status'], registers })
    this.httpDuration = new BatchedHistogram({
      name: `${p}http_request_duration_seconds`,
      help: 'Time from a request\'s arrival to the end of its answer (a stream: to its end), by route pattern and method',
      labelNames: ['route', 'method'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers
    })
    this.upstreamRequests = new SummedCounter({
      name: `${p}upstream_requests_total`,
      help: 'Calls to Coze, by endpoint, outcome (ok, aborted, or the mapped gateway error code) and Coze code (0 when none)',
      labelNames: ['endpoint', 'outcome', 'coze_code'],
      registers
    })
    this.firstDelta = new BatchedHistogram({
      name: `${p}time_to_first_delta_seconds`,
      help: 'Time from a request\'s arrival to its first delta: written to the client (streams), or received from Coze (JSON answers), by surface',
      labelNames: ['surface'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60],
      registers
    })
    this.streamDuration = new Histogram({
      name: `${p}stream_duration_seconds`,
      help: 'SSE streams: time from the request\'s arrival to the end of the stream, by surface and outcome',
      labelNames: ['surface', 'outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600],
      registers
    })
    this.openStreams = new Gauge({ name: `${p}open_streams`, help: 'SSE streams open now, by surface', labelNames: ['surface'], registers })
    this.tokens = new SummedCounter({ name: `${p}tokens_total`, help: 'Coze tokens of chats, by bot, gateway API key id (none without keys) and kind (input, output)', labelNames: ['bot', 'key', 'kind'], registers })
    this.chats = new SummedCounter({ name: `${p}chats_total`, help: 'Coze chats (turns) by bot, key and status (completed, requires_action, failed, canceled)', labelNames: ['bot', 'key', 'status'], registers })
    this.refusals = new Counter({ name: `${p}refusals_total`, help: 'Requests the gateway itself refused, by reason', labelNames: ['reason'], registers })
    this.queueWait = new BatchedHistogram<never>({
      name: `${p}queue_wait_seconds`,
      help: 'Time waited for the per-session / per-conversation chat lock (each acquisition, including those that timed out)',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers
    })
    this.storeErrors = new Counter({ name: `${p}session_store_errors_total`, help: 'Failed session store calls, by store (sqlite, memory, redis) and operation', labelNames: ['store', 'op'], registers })
    this.overhead = new BatchedHistogram({
      name: `${p}overhead_seconds`,
      help: 'Time the gateway added: streams, time to first delta minus Coze\'s time to its first delta; JSON answers that called Coze, the time outside the Coze calls',
      labelNames: ['surface'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers
    })
    const info = new Gauge({ name: `${p}build_info`, help: 'Always 1: the gateway\'s version, Node version and upstream mode', labelNames: ['version', 'node', 'upstream_mode'], registers })
    info.set({ version: opts.version, node: process.version, upstream_mode: opts.upstreamMode }, 1)
    const credentials = opts.credentials
    if (credentials) {
      new Gauge({
        name: `${p}credentials`,
        help: 'Coze credentials of the pool by state (active, cooldown, disabled)',
        labelNames: ['state'],
        registers,
        collect () {
          const n: Record<CredentialState, number> = { active: 0, cooldown: 0, disabled: 0 }
          for (const c of credentials()) n[c.state]++
          for (const [state, v] of Object.entries(n)) this.set({ state }, v)
        }
      })
    }
    // Every surface's gauge exists from the start, so a dashboard shows 0 rather than no data.
    for (const s of ['api', 'chatbot', 'openai', 'workflow'] as const) this.openStreams.set({ surface: s }, 0)
    for (const r of REFUSAL_REASONS) this.refusals.inc({ reason: r }, 0)
    this.registry = opts.enabled ? Registry.merge([own, processMetrics()]) : own
  }

  /** The `bot` label of a bot or chatflow id: its id when configured, else `other`. */
  botLabel (id: string | undefined): string {
    return id ? this.bots.of(id) : OTHER
  }

  http (route: string | undefined, method: string, status: number, ms: number): void {
    if (!this.enabled) return
    const r = route ?? 'unmatched'
    const m = METHODS.has(method) ? method : OTHER
    const key = `${r}\0${m}`
    this.httpRequests.inc(`${key}\0${status}`, () => ({ route: r, method: m, status: String(status) }))
    this.httpDuration.observe(key, () => ({ route: r, method: m }), seconds(ms))
  }

  upstream (endpoint: string, outcome: string, cozeCode: number | undefined): void {
    if (!this.enabled) return
    const code = cozeCode === undefined ? '0' : this.cozeCodes.of(String(cozeCode))
    this.upstreamRequests.inc(`${endpoint}\0${outcome}\0${code}`, () => ({ endpoint, outcome, coze_code: code }))
  }

  streamOpened (surface: Surface): void {
    if (this.enabled) this.openStreams.inc({ surface })
  }

  streamClosed (surface: Surface, outcome: StreamOutcome, ms: number): void {
    if (!this.enabled) return
    this.openStreams.dec({ surface })
    this.streamDuration.observe({ surface, outcome }, seconds(ms))
  }

  /** A stream's first delta reached the client. */
  firstDeltaSent (surface: Surface, firstDeltaMs: number, gatewayMs: number): void {
    if (!this.enabled) return
    this.firstDelta.observe(surface, () => ({ surface }), seconds(firstDeltaMs))
    this.overhead.observe(surface, () => ({ surface }), seconds(gatewayMs))
  }

  /** A JSON answer that called Coze: the time spent outside the Coze calls; a chat's first delta from Coze. */
  jsonAnswered (surface: Surface, gatewayMs: number, firstDeltaMs: number | undefined): void {
    if (!this.enabled) return
    this.overhead.observe(surface, () => ({ surface }), seconds(gatewayMs))
    if (firstDeltaMs !== undefined) this.firstDelta.observe(surface, () => ({ surface }), seconds(firstDeltaMs))
  }

  /** A chat turn ended; `usage` when Coze reported it. `bot` is a label value (botLabel). */
  chat (bot: string, keyId: string | undefined, status: ChatStatus, usage?: Usage): void {
    if (!this.enabled) return
    const key = keyId === undefined ? 'none' : this.keys.of(keyId)
    const k = `${bot}\0${key}`
    this.chats.inc(`${k}\0${status}`, () => ({ bot, key, status }))
    if (usage) {
      if (usage.input_count) this.tokens.inc(`${k}\0input`, () => ({ bot, key, kind: 'input' }), usage.input_count)
      if (usage.output_count) this.tokens.inc(`${k}\0output`, () => ({ bot, key, kind: 'output' }), usage.output_count)
    }
  }

  refused (reason: RefusalReason): void {
    if (this.enabled) this.refusals.inc({ reason })
  }

  queued (ms: number): void {
    if (this.enabled) this.queueWait.observe('', () => ({}), seconds(ms))
  }

  storeError (store: string, op: string): void {
    if (this.enabled) this.storeErrors.inc({ store, op })
  }
}
