// Coze workflows: sync and async runs, run history, stream_run and stream_resume. The one
// place where Coze workflow answers and stream events are interpreted; routes only map
// WorkflowEvent → their wire format.
//
// Streams go through the SDK client's own `post(path, body, true)` rather than
// `workflows.runs.stream()`: that wrapper drops the data of the `Done` event, and with it
// the `debug_url` the gateway relays. Framing, auth and errors stay the SDK's.
//
// Like chat streams, a workflow stream can end *silently* (abort, timeout, cut
// connection), so only `Done` (or `Interrupt`, after which Coze ends the stream without
// Done) counts as a finished run; anything else is reported as truncated.
import { Type, type Static } from 'typebox'
import { ClientAbortError, errors, GatewayError } from '../errors.js'
import { cozeCall, reportUpstream, type CallOptions, type CozeClient } from './client.js'
import type { StreamEndpoint } from './endpoints.js'
import { sdkOptions, type Usage } from './chat.js'
import { decoder } from './decode.js'
import { StreamGuard, type StreamOptions } from './stream-guard.js'
import { fromCozeCode } from './errors.js'
import type { Lease } from './credentials.js'

// What the gateway reads of Coze's answers and events; anything else is left alone.
const Loose = <T extends Parameters<typeof Type.Object>[0]>(props: T) => Type.Object(props, { additionalProperties: true })
const Maybe = <T extends Parameters<typeof Type.Optional>[0]>(t: T) => Type.Optional(Type.Union([t, Type.Null()]))
const UsageSchema = Maybe(Loose({}))
const InterruptData = Maybe(Loose({}))

const RunAnswer = Loose({ data: Maybe(Type.Unknown()), execute_id: Maybe(Type.String()), debug_url: Maybe(Type.String()), usage: UsageSchema, interrupt_data: InterruptData })
const decodeRun = decoder(RunAnswer, 'a workflow run result')
const decodeHistory = decoder(Type.Array(Loose({
  execute_id: Maybe(Type.String()),
  execute_status: Type.String(),
  output: Maybe(Type.Unknown()),
  error_code: Maybe(Type.Union([Type.String(), Type.Number()])),
  error_message: Maybe(Type.String()),
  debug_url: Maybe(Type.String()),
  usage: UsageSchema,
  create_time: Maybe(Type.Number()),
  update_time: Maybe(Type.Number()),
  interrupt_data: InterruptData
})), 'a workflow run history')

const MessageData = Loose({ content: Maybe(Type.Unknown()), node_title: Maybe(Type.String()), node_is_finish: Maybe(Type.Boolean()), node_seq_id: Maybe(Type.String()), usage: UsageSchema })
const InterruptEvent = Loose({ interrupt_data: InterruptData, node_title: Maybe(Type.String()) })
const ErrorEvent = Loose({ error_code: Maybe(Type.Union([Type.Number(), Type.String()])), error_message: Maybe(Type.String()) })
const DoneEvent = Loose({ debug_url: Maybe(Type.String()) })
const ErrorBody = Loose({ code: Maybe(Type.Number()), msg: Maybe(Type.String()), detail: Maybe(Loose({ logid: Maybe(Type.String()) })) })
const decodeMessage = decoder(MessageData, 'a workflow stream event')
const decodeInterrupt = decoder(InterruptEvent, 'a workflow stream event')
const decodeError = decoder(ErrorEvent, 'a workflow stream event')
const decodeDone = decoder(DoneEvent, 'a workflow stream event')
const decodeErrorBody = decoder(ErrorBody, 'an error body')

export interface WorkflowRunParams {
  workflow_id: string
  parameters: Record<string, unknown>
  bot_id?: string | undefined
  app_id?: string | undefined
  ext?: Record<string, string> | undefined
}

export interface ResumeParams {
  workflow_id: string
  event_id: string
  resume_data: string
  interrupt_type: number
}

/** A run waiting for an answer (a question node, an input form …); resume it with these fields. */
export interface WorkflowInterrupt {
  event_id: string
  /** Coze's interrupt type: 2 question, 5 input, 6 local plugin, 7 OAuth */
  interrupt_type: number
  data: string
  node_title?: string | undefined
}

export interface WorkflowRunResult {
  /** Coze's result string, parsed when it is JSON */
  output: unknown
  execute_id?: string | undefined
  debug_url: string | null
  usage: Usage | null
  interrupt?: WorkflowInterrupt | undefined
}

export type WorkflowRunStatus = 'running' | 'success' | 'failed'

export interface WorkflowRunState {
  execute_id: string
  status: WorkflowRunStatus
  output: unknown
  error: { code: number | string, message: string } | null
  debug_url: string | null
  usage: Usage | null
  created_at: number | null
  updated_at: number | null
  interrupt?: WorkflowInterrupt | undefined
}

export type WorkflowEvent =
  | { type: 'workflow_message', node_title: string, content: string, node_is_finish: boolean, node_seq_id?: string | undefined, usage?: Usage | undefined }
  | ({ type: 'interrupt' } & WorkflowInterrupt)
  | { type: 'ping' }
  | { type: 'done', debug_url: string | null, execute_id?: string | undefined }

/** Coze returns workflow output as a string: parsed when it is JSON, left as-is otherwise. */
export function parseOutput (s: unknown): unknown {
  if (typeof s !== 'string' || s === '') return s ?? null
  try { return JSON.parse(s) } catch { return s }
}

/** A sync answer or a Done event may carry the execute_id only inside debug_url (…?execute_id=…&…). */
function executeIdOf (debugUrl: string | null | undefined): string | undefined {
  return debugUrl ? /[?&]execute_id=([^&#]+)/.exec(debugUrl)?.[1] : undefined
}

function runBody (p: WorkflowRunParams) {
  return {
    workflow_id: p.workflow_id,
    parameters: p.parameters,
    ...(p.bot_id ? { bot_id: p.bot_id } : {}),
    ...(p.app_id ? { app_id: p.app_id } : {}),
    ...(p.ext ? { ext: p.ext } : {})
  }
}

function usageOf (u: unknown): Usage | null {
  if (!u || typeof u !== 'object') return null
  const x = u as Partial<Usage>
  return { token_count: Number(x.token_count ?? 0), output_count: Number(x.output_count ?? 0), input_count: Number(x.input_count ?? 0) }
}

function interruptOf (raw: unknown, nodeTitle?: string): WorkflowInterrupt | undefined {
  if (!raw || typeof raw !== 'object') return undefined
  const d = raw as { event_id?: unknown, type?: unknown, data?: unknown }
  if (typeof d.event_id !== 'string' || !d.event_id) return undefined
  return {
    event_id: d.event_id,
    interrupt_type: Number(d.type ?? 0),
    data: typeof d.data === 'string' ? d.data : JSON.stringify(d.data ?? ''),
    ...(nodeTitle ? { node_title: nodeTitle } : {})
  }
}

/** A synchronous run: waits for the workflow's result. */
export async function runWorkflow (coze: CozeClient, p: WorkflowRunParams, o: CallOptions = {}): Promise<WorkflowRunResult> {
  const body = decodeRun(await cozeCall(coze, o, (opts, api) => api.workflows.runs.create(runBody(p), opts), 'workflow'))
  const interrupt = interruptOf(body.interrupt_data)
  if (typeof body.data !== 'string' && !interrupt) throw errors.upstreamMalformed('a workflow run result (no data)')
  const executeId = body.execute_id || executeIdOf(body.debug_url)
  return {
    output: parseOutput(body.data ?? ''),
    ...(executeId ? { execute_id: executeId } : {}),
    debug_url: body.debug_url || null,
    usage: usageOf(body.usage),
    ...(interrupt ? { interrupt } : {})
  }
}

/** An asynchronous run (is_async): returns at once with the execute_id to poll. */
export async function startWorkflowRun (coze: CozeClient, p: WorkflowRunParams, o: CallOptions = {}): Promise<{ execute_id: string, debug_url: string | null }> {
  const res = decodeRun(await cozeCall(coze, o, (opts, api) => api.workflows.runs.create({ ...runBody(p), is_async: true }, opts), 'workflow'))
  if (!res.execute_id) throw errors.upstreamError('Coze accepted the asynchronous run but returned no execute_id.')
  return { execute_id: res.execute_id, debug_url: res.debug_url || null }
}

const STATUS: Record<string, WorkflowRunStatus> = { Running: 'running', Success: 'success', Fail: 'failed' }

/** The state of a run (run_histories): running, success with its output, or failed with its error. */
export async function getWorkflowRun (coze: CozeClient, workflowId: string, executeId: string, o: CallOptions = {}): Promise<WorkflowRunState> {
  const h = decodeHistory(await cozeCall(coze, o, (opts, api) => api.workflows.runs.history(workflowId, executeId, opts), 'workflow'))[0]
  if (!h) throw errors.upstreamNotFound(`Coze has no run ${executeId} of workflow ${workflowId}: check both ids.`)
  const status = STATUS[h.execute_status] ?? (h.execute_status.toLowerCase() as WorkflowRunStatus)
  const code = h.error_code === '' || h.error_code === undefined || h.error_code === null ? 0 : Number(h.error_code)
  const interrupt = interruptOf(h.interrupt_data)
  return {
    execute_id: h.execute_id || executeId,
    status,
    output: status === 'success' ? parseOutput(h.output) : null,
    error: status === 'failed' || (code !== 0 && !Number.isNaN(code))
      ? { code: Number.isNaN(code) ? String(h.error_code) : code, message: h.error_message || 'the workflow run failed' }
      : null,
    debug_url: h.debug_url || null,
    usage: usageOf(h.usage),
    created_at: typeof h.create_time === 'number' ? h.create_time : null,
    updated_at: typeof h.update_time === 'number' ? h.update_time : null,
    ...(interrupt ? { interrupt } : {})
  }
}

/**
 * stream_run: yields the run's events. Throws GatewayError / ClientAbortError. A run refused
 * for its credential before any event (rate limit, auth) starts once more on another one.
 */
export async function * streamWorkflow (coze: CozeClient, p: WorkflowRunParams, opts: StreamOptions): AsyncGenerator<WorkflowEvent> {
  let lease = opts.lease ?? coze.credentials.lease(opts)
  for (;;) {
    let started = false
    try {
      for await (const ev of relay(coze, '/v1/workflow/stream_run', 'workflow_stream', runBody(p), opts, lease)) {
        started = true
        yield ev
      }
      return
    } catch (err) {
      const next = !started && err instanceof GatewayError ? coze.credentials.retry(lease) : undefined
      if (!next) throw err
      lease = next
    }
  }
}

/** stream_resume: continues an interrupted run, streaming. */
export function resumeWorkflow (coze: CozeClient, p: ResumeParams, opts: StreamOptions): AsyncGenerator<WorkflowEvent> {
  return relay(coze, '/v1/workflow/stream_resume', 'workflow_resume', { ...p }, opts, opts.lease ?? coze.credentials.lease(opts))
}

/** One SSE event as either transport yields it (the SDK's: one shared object, read it at once). */
interface RawEvent { event?: string | undefined, data?: string }

async function * relay (coze: CozeClient, path: string, endpoint: StreamEndpoint, body: object, opts: StreamOptions, lease: Lease): AsyncGenerator<WorkflowEvent> {
  // before the guard's timers: the first call of a process loads the SDK
  const api = coze.api ?? await coze.sdk()
  const guard = new StreamGuard(opts, 'workflow')
  let ended: 'done' | 'interrupt' | undefined
  let drained = false
  let reported = false
  const report = (err?: unknown) => { reported = true; reportUpstream(coze, endpoint, err) }
  const clock = opts.clock
  let firstDelta = clock !== undefined

  clock?.begin()
  try {
    const token = await lease.token()
    const source = coze.streams
      ? coze.streams.stream(path, body, token, guard)
      : await api.post<object, AsyncIterable<RawEvent>>(path, body, true, sdkOptions(coze, guard, token))
    for await (const raw of source) {
      const event = raw.event
      const data = raw.data
      if (ended === 'done') continue
      guard.event()
      switch (event) {
        case 'Message': {
          const d = parseEvent(decodeMessage, data, guard.logid)
          if (firstDelta) { firstDelta = false; clock!.firstDelta() }
          const usage = usageOf(d.usage)
          yield {
            type: 'workflow_message',
            node_title: d.node_title ?? '',
            content: typeof d.content === 'string' ? d.content : JSON.stringify(d.content ?? ''),
            node_is_finish: d.node_is_finish === true,
            ...(typeof d.node_seq_id === 'string' ? { node_seq_id: d.node_seq_id } : {}),
            ...(usage ? { usage } : {})
          }
          break
        }
        case 'PING':
          yield { type: 'ping' }
          break
        case 'Interrupt': {
          const d = parseEvent(decodeInterrupt, data, guard.logid)
          const it = interruptOf(d.interrupt_data, d.node_title ?? undefined)
          if (!it) throw errors.upstreamError('Coze sent an Interrupt event without an event_id.', guard.logid)
          ended = 'interrupt'
          yield { type: 'interrupt', ...it }
          break
        }
        case 'Error': {
          const d = parseEvent(decodeError, data, guard.logid)
          throw fromCozeCode(Number(d.error_code) || 5000, d.error_message ?? 'the workflow failed', guard.logid, undefined, 'workflow')
        }
        case 'Done': {
          // Done may carry no data at all.
          const debugUrl = data ? parseEvent(decodeDone, data, guard.logid).debug_url || null : null
          ended = 'done'
          guard.ended()
          const executeId = executeIdOf(debugUrl)
          yield { type: 'done', debug_url: debugUrl, ...(executeId ? { execute_id: executeId } : {}) }
          break
        }
        case 'error':
          // A JSON error body on a stream call (e.g. 4200 unknown workflow), as the SDK yields it.
          throw errorBody(data, guard.logid)
        default:
          break
      }
    }
    drained = true
  } catch (err) {
    const e = guard.toError(err, TRUNCATED)
    report(e)
    if (!(e instanceof GatewayError)) throw e
    lease.report(e)
    throw coze.credentials.explain(lease, e)
  } finally {
    guard.close(drained)
    clock?.end()
    // The consumer stopped reading (its client left).
    if (!reported && !drained) report(new ClientAbortError())
  }
  if (!ended) {
    const e = guard.failure(TRUNCATED)
    report(e)
    throw e
  }
  report()
  lease.report()
}

const TRUNCATED = 'The Coze workflow stream ended before the run finished (no Done event); the output is incomplete.'

/** JSON data of a stream event, checked; any failure is one 502. */
function parseEvent<T> (decode: (v: unknown, logid?: string) => T, data: string | undefined, logid: string | undefined): T {
  try {
    return decode(JSON.parse(data ?? ''), logid)
  } catch {
    throw errors.upstreamError('Coze sent a malformed workflow stream event.', logid)
  }
}

function errorBody (data: string | undefined, logid: string | undefined) {
  let obj: Static<typeof ErrorBody> = {}
  try { obj = decodeErrorBody(JSON.parse(data ?? '')) } catch { /* raw text */ }
  const id = obj.detail?.logid ?? logid
  if (typeof obj.code === 'number' && obj.code !== 0) return fromCozeCode(obj.code, obj.msg ?? '', id, undefined, 'workflow')
  return errors.upstreamError('Coze sent a malformed workflow stream event.', id)
}
