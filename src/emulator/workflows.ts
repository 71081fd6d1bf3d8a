import type { Ctx, RouteDef, Runtime } from './runtime.js'
import { Stopper } from './runtime.js'
import type { Usage, WorkflowExecution } from './state.js'
import type { StreamFault } from './faults.js'
import { DEFAULT_AFTER_DELTAS } from './faults.js'
import { SseSink, workflowFrame } from './sse.js'
import { splitDeltas } from './bots.js'
import { badRequest, cozeMessage, notFound } from './errors.js'
import { newId, nowSec } from './ids.js'
import { sendJson, sendOk } from './respond.js'
import { pacedDelay } from './pacing.js'

type WorkflowKind = 'echo' | 'text' | 'interrupt'

export const WORKFLOWS: Array<{ id: string; kind: WorkflowKind; description: string }> = [
  { id: 'wf-echo', kind: 'echo', description: 'returns its parameters: data is {"output": <parameters>} as a JSON string' },
  { id: 'wf-text', kind: 'text', description: 'returns a plain (non-JSON) string' },
  { id: 'wf-interrupt', kind: 'interrupt', description: 'asks a question (Interrupt type 2); stream_resume answers it' }
]
const BY_ID = new Map(WORKFLOWS.map((w) => [w.id, w.kind]))

const SPACE_ID = '7500000000000000101'
const INTERRUPT_QUESTION = 'What is your name?'

function resolveWorkflow (id: string): WorkflowKind | undefined {
  const k = BY_ID.get(id)
  if (k) return k
  // reserved fault ids run like wf-echo once their fault (e.g. latency) has played
  return id.startsWith('fault-') ? 'echo' : undefined
}

export function debugUrl (executeId: string, workflowId: string): string {
  return `https://www.coze.cn/work_flow?execute_id=${executeId}&space_id=${SPACE_ID}&workflow_id=${workflowId}`
}

export function parseParameters (v: unknown): unknown {
  if (v === undefined || v === null || v === '') return {}
  if (typeof v === 'string') {
    try { return JSON.parse(v) } catch { throw badRequest('parameters must be a JSON object or a JSON string') }
  }
  return v
}

function usageOf (input: string, output: string): Usage {
  const i = 10 + Math.ceil(input.length / 4)
  const o = 1 + Math.ceil(output.length / 4)
  return { input_count: i, output_count: o, token_count: i + o }
}

interface Start { kind: WorkflowKind; workflowId: string; botId: string; parameters: unknown; exec: WorkflowExecution }

function startRun (ctx: Ctx, runMode: 0 | 1 | 2): Start {
  const { body, rt } = ctx
  const workflowId = typeof body.workflow_id === 'string' ? body.workflow_id : ''
  if (!workflowId) throw badRequest('workflow_id is required')
  const botId = typeof body.bot_id === 'string' ? body.bot_id : ''
  const appId = typeof body.app_id === 'string' ? body.app_id : ''
  if (botId && appId) throw badRequest('bot_id and app_id cannot be set together')
  const kind = resolveWorkflow(workflowId)
  if (!kind) throw notFound(`The workflow ${workflowId} does not exist or has not been published.`)
  const parameters = parseParameters(body.parameters)
  const executeId = newId()
  const now = nowSec()
  const exec: WorkflowExecution = {
    execute_id: executeId,
    workflow_id: workflowId,
    bot_id: botId || '0',
    run_mode: runMode,
    logid: ctx.logid,
    create_time: now,
    update_time: now,
    status: 'Running',
    finishAt: undefined,
    output: '',
    error_code: '',
    error_message: '',
    debug_url: debugUrl(executeId, workflowId),
    usage: { input_count: 0, output_count: 0, token_count: 0 },
    interrupt_data: undefined
  }
  rt.store.executions.set(executeId, exec)
  return { kind, workflowId, botId, parameters, exec }
}

/** What a finished run outputs: the sync `data` string. */
function outputOf (kind: WorkflowKind, parameters: unknown): string {
  if (kind === 'text') return `Hello from wf-text. You sent ${JSON.stringify(parameters)}`
  if (kind === 'echo') return JSON.stringify({ output: parameters })
  return ''
}

function succeed (exec: WorkflowExecution, output: string, input: string): void {
  exec.status = 'Success'
  exec.output = output
  exec.usage = usageOf(input, output)
  exec.update_time = nowSec()
  exec.interrupt_data = undefined
}

function interrupt (exec: WorkflowExecution): NonNullable<WorkflowExecution['interrupt_data']> {
  const data = { event_id: `${exec.execute_id}/${newId()}`, type: 2, data: INTERRUPT_QUESTION }
  exec.interrupt_data = data
  exec.update_time = nowSec()
  return data
}

// ---------------------------------------------------------------------------
// POST /v1/workflow/run

function run (ctx: Ctx): void {
  const isAsync = ctx.body.is_async === true
  const { kind, parameters, exec } = startRun(ctx, isAsync ? 2 : 0)
  const input = JSON.stringify(parameters)
  if (isAsync) {
    exec.finishAt = Date.now() + ctx.rt.opts.asyncWorkflowMs
    if (kind === 'interrupt') interrupt(exec)
    else exec.output = outputOf(kind, parameters)
    // the async answer has no `data` (protocol §8.1)
    sendJson(ctx.res, ctx.logid, { code: 0, msg: '', execute_id: exec.execute_id, debug_url: exec.debug_url, detail: { logid: ctx.logid } }, 200, ctx.fault)
    return
  }
  if (kind === 'interrupt') {
    const interruptData = interrupt(exec)
    exec.usage = usageOf(input, '')
    sendJson(ctx.res, ctx.logid, {
      code: 0, msg: '', data: '', execute_id: exec.execute_id, debug_url: exec.debug_url, interrupt_data: interruptData, usage: exec.usage, detail: { logid: ctx.logid }
    }, 200, ctx.fault)
    return
  }
  succeed(exec, outputOf(kind, parameters), input)
  sendJson(ctx.res, ctx.logid, {
    code: 0, msg: '', data: exec.output, execute_id: exec.execute_id, debug_url: exec.debug_url, usage: exec.usage, detail: { logid: ctx.logid }
  }, 200, ctx.fault)
}

// ---------------------------------------------------------------------------
// Streams

interface WfStep { event: 'Message' | 'PING' | 'Interrupt'; data: Record<string, unknown>; delta?: boolean }

function endMessages (text: string, usage: Usage, nodeTitle = 'End'): WfStep[] {
  const pieces = splitDeltas(text)
  if (pieces.length === 0) pieces.push('')
  const nodeId = '900001'
  const uuid = newId()
  return pieces.map((content, i): WfStep => {
    const last = i === pieces.length - 1
    const data: Record<string, unknown> = {
      content, content_type: 'text', node_title: nodeTitle, node_seq_id: String(i), node_is_finish: last, node_id: nodeId, node_type: nodeTitle, node_execute_uuid: uuid
    }
    if (last) Object.assign(data, { cost: '0.00', token: usage.token_count, usage })
    return { event: 'Message', data, delta: true }
  })
}

/** Plays workflow SSE: `id: n` from 0, Message/PING/Interrupt, then Done unless interrupted or cut. */
async function playWorkflow (rt: Runtime, ctx: Ctx, exec: WorkflowExecution, steps: WfStep[], done: boolean, onSuccess: () => void): Promise<void> {
  const sink = new SseSink(ctx.res, ctx.logid, rt.openStreams)
  const stopper = new Stopper(rt.live)
  ctx.res.once('close', () => { if (!ctx.res.writableEnded) stopper.stop('client') })
  const fault: StreamFault | undefined = ctx.fault
  const fireAt = fault ? (fault.afterDeltas ?? DEFAULT_AFTER_DELTAS) : -1
  const demo = rt.opts.paceDeltas
  const fixed = ctx.deltaMs ?? rt.opts.deltaDelayMs
  const pace = (): number => ctx.deltaMs === undefined && demo ? pacedDelay(demo) : fixed
  let id = 0
  let sent = 0
  let fired = false
  const write = async (event: string, data: unknown): Promise<void> => {
    const p = sink.write(workflowFrame(id++, event, data))
    if (p) await p
  }
  const fail = (code: number, msg: string): void => {
    exec.status = 'Fail'
    exec.error_code = String(code)
    exec.error_message = msg
    exec.update_time = nowSec()
  }
  /** false when the stream ends here */
  const fire = async (): Promise<boolean> => {
    fired = true
    if (!fault) return true
    switch (fault.kind) {
      case 'malformed':
        await sink.write(`id: ${id++}\nevent: Message\ndata: {"content":<<not json>>\n\n`)
        return true
      case 'truncate':
        fail(5000, 'stream truncated by the emulator')
        sink.end()
        return false
      default: {
        // stream_error and chat_failed: a workflow reports failure as an Error event
        const code = fault.code ?? 5000
        const msg = fault.msg ?? cozeMessage(code)
        fail(code, msg)
        await write('Error', { error_code: code, error_message: msg })
        sink.end()
        return false
      }
    }
  }
  try {
    for (const step of steps) {
      if (step.delta) {
        if (fault && !fired && sent >= fireAt && !(await fire())) return
        const ms = pace()
        if (ms > 0) await stopper.sleep(ms)
      }
      if (stopper.stopped) {
        if (exec.status === 'Running') fail(5000, 'client disconnected')
        sink.end()
        return
      }
      await write(step.event, step.data)
      if (step.delta) sent++
    }
    if (fault && !fired && !(await fire())) return
    onSuccess()
    if (done) await write('Done', { debug_url: exec.debug_url })
    sink.end()
  } finally {
    stopper.dispose()
  }
}

function streamRun (ctx: Ctx): void {
  const { kind, parameters, exec } = startRun(ctx, 1)
  const input = JSON.stringify(parameters)
  if (kind === 'interrupt') {
    const data = interrupt(exec)
    const steps: WfStep[] = [
      { event: 'Message', data: { content: 'I need to ask you something.', content_type: 'text', node_title: 'Question', node_seq_id: '0', node_is_finish: true, node_id: '900002', node_type: 'Question' }, delta: true },
      { event: 'PING', data: {} },
      { event: 'Interrupt', data: { interrupt_data: data, node_title: 'Question' } }
    ]
    playWorkflow(ctx.rt, ctx, exec, steps, false, () => { exec.usage = usageOf(input, '') }).catch(() => { if (!ctx.res.writableEnded) ctx.res.destroy() })
    return
  }
  const output = outputOf(kind, parameters)
  const usage = usageOf(input, output)
  const steps = endMessages(output, usage)
  steps.splice(1, 0, { event: 'PING', data: {} })
  playWorkflow(ctx.rt, ctx, exec, steps, true, () => succeed(exec, output, input)).catch(() => { if (!ctx.res.writableEnded) ctx.res.destroy() })
}

function streamResume (ctx: Ctx): void {
  const { body, rt } = ctx
  const workflowId = typeof body.workflow_id === 'string' ? body.workflow_id : ''
  if (!workflowId) throw badRequest('workflow_id is required')
  if (!resolveWorkflow(workflowId)) throw notFound(`The workflow ${workflowId} does not exist or has not been published.`)
  const eventId = typeof body.event_id === 'string' ? body.event_id : ''
  if (!eventId) throw badRequest('event_id is required')
  const exec = rt.store.executions.get(eventId.split('/')[0] ?? '')
  if (!exec || exec.workflow_id !== workflowId || exec.interrupt_data?.event_id !== eventId) throw badRequest(`event_id ${eventId} is not waiting for a resume`)
  const resumeData = typeof body.resume_data === 'string' ? body.resume_data : JSON.stringify(body.resume_data ?? '')
  exec.interrupt_data = undefined
  const output = JSON.stringify({ output: resumeData })
  const usage = usageOf(resumeData, output)
  const steps = endMessages(output, usage)
  steps.splice(1, 0, { event: 'PING', data: {} })
  playWorkflow(rt, ctx, exec, steps, true, () => succeed(exec, output, resumeData)).catch(() => { if (!ctx.res.writableEnded) ctx.res.destroy() })
}

// ---------------------------------------------------------------------------
// GET /v1/workflows/{workflow_id}/run_histories/{execute_id}

function history (ctx: Ctx): void {
  const [workflowId, executeId] = ctx.params
  const exec = executeId ? ctx.rt.store.executions.get(executeId) : undefined
  if (!exec || exec.workflow_id !== workflowId) throw notFound(`execute_id ${executeId ?? ''} not found`)
  if (exec.status === 'Running' && exec.finishAt !== undefined && Date.now() >= exec.finishAt && !exec.interrupt_data) {
    exec.status = 'Success'
    exec.usage = usageOf('', exec.output)
    exec.update_time = nowSec()
  }
  const running = exec.status === 'Running'
  sendOk(ctx.res, ctx.logid, [{
    execute_id: exec.execute_id,
    execute_status: exec.status,
    bot_id: exec.bot_id,
    connector_id: '1024',
    connector_uid: '7500000000000000001',
    run_mode: exec.run_mode,
    logid: exec.logid,
    create_time: exec.create_time,
    update_time: exec.update_time,
    output: running ? '' : exec.output,
    token: String(exec.usage.token_count),
    cost: '0.00',
    error_code: exec.error_code,
    error_message: exec.error_message,
    debug_url: exec.debug_url,
    usage: exec.usage,
    is_output_trimmed: false,
    node_execute_status: {},
    ...(exec.interrupt_data ? { interrupt_data: exec.interrupt_data } : {})
  }], ctx.fault)
}

export const workflowRoutes: RouteDef[] = [
  { method: 'POST', path: '/v1/workflow/run', handler: run, faultIdField: 'workflow_id' },
  { method: 'POST', path: '/v1/workflow/stream_run', handler: streamRun, streamable: true, faultIdField: 'workflow_id' },
  { method: 'POST', path: '/v1/workflow/stream_resume', handler: streamResume, streamable: true, faultIdField: 'workflow_id' },
  { method: 'GET', path: /^\/v1\/workflows\/([^/]+)\/run_histories\/([^/]+)$/, handler: history }
]
