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
import type { WorkflowExecuteHistory } from '@coze/api'
import { GatewayError } from '../errors.js'
import type { CozeClient } from './client.js'
import type { Usage } from './chat.js'
import { StreamGuard, type StreamOptions } from './stream-guard.js'
import { fromCozeCode, toGatewayError } from './errors.js'

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

export interface CallOpts {
  signal?: AbortSignal | undefined
  onLogid?: ((logid: string) => void) | undefined
  /** Overrides COZE_REQUEST_TIMEOUT_MS (sync runs can take minutes). */
  timeoutMs?: number | undefined
}

/** Coze returns workflow output as a string: parsed when it is JSON, left as-is otherwise. */
export function parseOutput (s: unknown): unknown {
  if (typeof s !== 'string' || s === '') return s ?? null
  try { return JSON.parse(s) } catch { return s }
}

/** A sync answer or a Done event may carry the execute_id only inside debug_url (…?execute_id=…&…). */
function executeIdOf (debugUrl: string | null | undefined): string | undefined {
  return debugUrl ? /[?&]execute_id=([^&#]+)/.exec(debugUrl)?.[1] : undefined
}

function callOptions (coze: CozeClient, o: CallOpts) {
  const opts = coze.options({ signal: o.signal, onLogid: o.onLogid })
  if (o.timeoutMs) opts.timeout = o.timeoutMs
  return opts
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
export async function runWorkflow (coze: CozeClient, p: WorkflowRunParams, o: CallOpts = {}): Promise<WorkflowRunResult> {
  const res = await coze.api.workflows.runs.create(runBody(p), callOptions(coze, o))
    .catch((e: unknown) => { throw toGatewayError(e, 'workflow') })
  const body = res as unknown as { data?: unknown, execute_id?: string, debug_url?: string, usage?: unknown, interrupt_data?: unknown }
  const interrupt = interruptOf(body.interrupt_data)
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
export async function startWorkflowRun (coze: CozeClient, p: WorkflowRunParams, o: CallOpts = {}): Promise<{ execute_id: string, debug_url: string | null }> {
  const res = await coze.api.workflows.runs.create({ ...runBody(p), is_async: true }, callOptions(coze, o))
    .catch((e: unknown) => { throw toGatewayError(e, 'workflow') })
  if (!res?.execute_id) throw new GatewayError(502, 'UPSTREAM_ERROR', 'Coze accepted the asynchronous run but returned no execute_id.')
  return { execute_id: res.execute_id, debug_url: res.debug_url || null }
}

const STATUS: Record<string, WorkflowRunStatus> = { Running: 'running', Success: 'success', Fail: 'failed' }

/** The state of a run (run_histories): running, success with its output, or failed with its error. */
export async function getWorkflowRun (coze: CozeClient, workflowId: string, executeId: string, o: CallOpts = {}): Promise<WorkflowRunState> {
  const list = await coze.api.workflows.runs.history(workflowId, executeId, callOptions(coze, o))
    .catch((e: unknown) => { throw toGatewayError(e, 'workflow') })
  const h = (Array.isArray(list) ? list[0] : undefined) as (WorkflowExecuteHistory & { usage?: unknown, interrupt_data?: unknown }) | undefined
  if (!h) throw new GatewayError(404, 'UPSTREAM_NOT_FOUND', `Coze has no run ${executeId} of workflow ${workflowId}: check both ids.`)
  const status = STATUS[h.execute_status] ?? (String(h.execute_status).toLowerCase() as WorkflowRunStatus)
  const code = h.error_code === '' || h.error_code === undefined || h.error_code === null ? 0 : Number(h.error_code)
  const interrupt = interruptOf(h.interrupt_data)
  return {
    execute_id: h.execute_id || executeId,
    status,
    output: status === 'success' ? parseOutput(h.output) : null,
    error: status === 'failed' || (code !== 0 && !Number.isNaN(code))
      ? { code: Number.isNaN(code) ? h.error_code : code, message: h.error_message || 'the workflow run failed' }
      : null,
    debug_url: h.debug_url || null,
    usage: usageOf(h.usage),
    created_at: typeof h.create_time === 'number' ? h.create_time : null,
    updated_at: typeof h.update_time === 'number' ? h.update_time : null,
    ...(interrupt ? { interrupt } : {})
  }
}

/** stream_run: yields the run's events. Throws GatewayError / ClientAbortError. */
export function streamWorkflow (coze: CozeClient, p: WorkflowRunParams, opts: StreamOptions): AsyncGenerator<WorkflowEvent> {
  return relay(coze, '/v1/workflow/stream_run', runBody(p), opts)
}

/** stream_resume: continues an interrupted run, streaming. */
export function resumeWorkflow (coze: CozeClient, p: ResumeParams, opts: StreamOptions): AsyncGenerator<WorkflowEvent> {
  return relay(coze, '/v1/workflow/stream_resume', { ...p }, opts)
}

/** One SSE event as the SDK's parser yields it (one shared object: read it at once). */
interface RawEvent { id?: string, event?: string, data?: string }

async function * relay (coze: CozeClient, path: string, body: object, opts: StreamOptions): AsyncGenerator<WorkflowEvent> {
  const guard = new StreamGuard(opts, 'workflow')
  let ended: 'done' | 'interrupt' | undefined
  let drained = false

  try {
    const callOpts = coze.options({ signal: guard.signal, stream: true, onLogid: guard.onLogid })
    const source = await coze.api.post<object, AsyncIterable<RawEvent>>(path, body, true, callOpts)
    for await (const raw of source) {
      const event = raw.event
      const data = raw.data
      if (ended === 'done') continue
      guard.event()
      switch (event) {
        case 'Message': {
          const d = parseData(data, guard.logid) as { content?: unknown, node_title?: unknown, node_is_finish?: unknown, node_seq_id?: unknown, usage?: unknown }
          const usage = usageOf(d.usage)
          yield {
            type: 'workflow_message',
            node_title: typeof d.node_title === 'string' ? d.node_title : '',
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
          const d = parseData(data, guard.logid) as { interrupt_data?: unknown, node_title?: unknown }
          const it = interruptOf(d.interrupt_data, typeof d.node_title === 'string' ? d.node_title : undefined)
          if (!it) throw new GatewayError(502, 'UPSTREAM_ERROR', 'Coze sent an Interrupt event without an event_id.', { logid: guard.logid })
          ended = 'interrupt'
          yield { type: 'interrupt', ...it }
          break
        }
        case 'Error': {
          const d = parseData(data, guard.logid) as { error_code?: unknown, error_message?: unknown }
          throw fromCozeCode(Number(d.error_code) || 5000, typeof d.error_message === 'string' ? d.error_message : 'the workflow failed', guard.logid, undefined, 'workflow')
        }
        case 'Done': {
          let debugUrl: string | null = null
          try { debugUrl = (JSON.parse(data ?? '') as { debug_url?: string }).debug_url || null } catch { /* Done may carry no data */ }
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
    throw guard.toError(err, TRUNCATED)
  } finally {
    guard.close(drained)
  }
  if (!ended) throw guard.failure(TRUNCATED)
}

const TRUNCATED = 'The Coze workflow stream ended before the run finished (no Done event); the output is incomplete.'

function parseData (data: string | undefined, logid: string | undefined): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(data ?? '')
    if (v && typeof v === 'object') return v as Record<string, unknown>
  } catch { /* below */ }
  throw new GatewayError(502, 'UPSTREAM_ERROR', 'Coze sent a malformed workflow stream event.', { logid })
}

function errorBody (data: string | undefined, logid: string | undefined): GatewayError {
  let obj: { code?: unknown, msg?: unknown, detail?: { logid?: string } } = {}
  try { obj = JSON.parse(data ?? '') as typeof obj } catch { /* raw text */ }
  const id = obj.detail?.logid ?? logid
  if (typeof obj.code === 'number' && obj.code !== 0) return fromCozeCode(obj.code, typeof obj.msg === 'string' ? obj.msg : '', id, undefined, 'workflow')
  return new GatewayError(502, 'UPSTREAM_ERROR', 'Coze sent a malformed workflow stream event.', { logid: id })
}
