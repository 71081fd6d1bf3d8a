// Coze workflows: run (sync, is_async, SSE), the state of an async run, resume after an
// interrupt (SSE), and /execute, the workflow API of the product's platform docs.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { errors } from '../errors.js'
import {
  getWorkflowRun, resumeWorkflow, runWorkflow, startWorkflowRun, streamWorkflow,
  type WorkflowEvent, type WorkflowInterrupt, type WorkflowRunParams
} from '../coze/workflows.js'
import {
  ChatflowBodySchema, ChatflowResponses, ExecuteBodySchema, ExecuteResponses, ResumeBodySchema, ResumeResponses, RunBodySchema, RunResponses, RunStateResponses,
  WORKFLOW_SSE_DOC, WorkflowParams, RunPathParams, type RunBody
} from '../schemas/workflows.js'
import { relaySse } from '../sse.js'
import type { GatewayMessage } from '../coze/messages.js'
import { workflowWire } from '../wires/workflow.js'
import { chatAnswer, chatWire } from '../wires/api.js'
import { answer } from './chat-reply.js'
import { surfaceOf } from '../plugins/error-handler.js'
import { upstreamOptions } from '../plugins/request-context.js'
import { isoFromUnix } from '../time.js'
import type { FastifyRequest } from 'fastify'
import type { Usage } from '../coze/chat.js'

const now = () => new Date().toISOString()

/** Parameters as an object, or the same object as a JSON string (the Coze docs' form). */
export function parametersOf (v: Record<string, unknown> | string | undefined, field: string): Record<string, unknown> {
  if (v === undefined || v === '') return {}
  if (typeof v !== 'string') return v
  let parsed: unknown
  try { parsed = JSON.parse(v) } catch { parsed = undefined }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw errors.invalid(`${field} must be an object of the workflow's input parameters, e.g. {"input": "Hello"} (or that object as a JSON string)`)
  }
  return parsed as Record<string, unknown>
}

function runParams (workflowId: string, body: RunBody): WorkflowRunParams {
  if (body.bot_id && body.app_id) throw errors.notBoth('bot_id', 'app_id', 'a workflow runs in the context of a bot or of an app, so send only one of them')
  return { workflow_id: workflowId, parameters: parametersOf(body.parameters, 'parameters'), bot_id: body.bot_id, app_id: body.app_id, ext: body.ext }
}

const resumeHint = (workflowId: string) => `answer it with POST /api/v1/workflows/${workflowId}/resume`

function interruptMessage (workflowId: string, it: WorkflowInterrupt): string {
  return `Workflow interrupted (${it.data || `interrupt type ${it.interrupt_type}`}): ${resumeHint(workflowId)}`
}

const workflowRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const syncTimeout = () => app.config.COZE_WORKFLOW_TIMEOUT_MS
  const limits = { connectTimeoutMs: app.config.COZE_CONNECT_TIMEOUT_MS, idleTimeoutMs: app.config.COZE_IDLE_TIMEOUT_MS }
  surfaceOf(app, 'workflow')
  // Every route here names a workflow: ALLOWED_WORKFLOW_IDS, the key's workflows and its budget, before Coze.
  app.addHook('preHandler', async (request) => {
    const { workflow_id: workflowId } = request.params as { workflow_id: string }
    app.access.checkWorkflow(request.principal, workflowId)
    await app.access.checkBudget(request.principal)
  })
  const spend = (request: FastifyRequest, usage: Usage | null | undefined) => app.access.spend(request.principal, usage?.token_count)
  /** Workflow events, their reported usage counted against the key's budget. */
  async function * metered (request: FastifyRequest, events: AsyncIterable<WorkflowEvent>): AsyncGenerator<WorkflowEvent> {
    for await (const ev of events) {
      if (ev.type === 'workflow_message') await spend(request, ev.usage)
      yield ev
    }
  }

  app.post('/api/v1/workflows/:workflow_id/run', {
    schema: {
      tags: ['workflows'],
      summary: 'Run a published workflow: sync (JSON), is_async (JSON, poll /runs/{execute_id}) or "stream": true (SSE)',
      description: `Sync: \`data\` = \`{status: "completed", output, execute_id?, debug_url, usage}\`; Coze's result string is parsed into \`output\` when it is JSON. ` +
        'A run that stops at a question node answers `status: "interrupted"` with `interrupt` (resume it with /resume).\n\n' +
        '`is_async`: `data` = `{execute_id, status: "running", debug_url}`.\n\n' +
        '`bot_id` with `app_id` → 400 (before Coze). Unknown or unpublished workflow → 404. `is_async` on a free Coze plan → 402.\n\n' +
        `With \`"stream": true\`: ${WORKFLOW_SSE_DOC}`,
      params: WorkflowParams,
      body: RunBodySchema,
      response: RunResponses
    }
  }, async (request, reply) => {
    const { workflow_id: workflowId } = request.params
    const body = request.body
    const params = runParams(workflowId, body)
    const call = upstreamOptions(request, reply)
    if (body.stream === true) {
      if (body.is_async === true) throw errors.notBoth('stream', 'is_async', 'stream the run, or start it with is_async and poll GET /api/v1/workflows/{workflow_id}/runs/{execute_id}')
      return relaySse(app, reply, (signal) => metered(request, streamWorkflow(app.coze, params, { ...limits, ...call, signal })), workflowWire)
    }
    if (body.is_async === true) {
      const r = await startWorkflowRun(app.coze, params, call)
      return ok(`Workflow run started: poll GET /api/v1/workflows/${workflowId}/runs/${r.execute_id}`, { execute_id: r.execute_id, status: 'running', debug_url: r.debug_url })
    }
    const r = await runWorkflow(app.coze, params, { ...call, timeoutMs: syncTimeout() })
    await spend(request, r.usage)
    const data = {
      status: r.interrupt ? 'interrupted' : 'completed',
      output: r.output,
      ...(r.execute_id ? { execute_id: r.execute_id } : {}),
      debug_url: r.debug_url,
      usage: r.usage,
      ...(r.interrupt ? { interrupt: r.interrupt } : {})
    }
    return ok(r.interrupt ? interruptMessage(workflowId, r.interrupt) : 'Workflow completed successfully', data)
  })

  app.post('/api/v1/workflows/:workflow_id/chat', {
    schema: {
      tags: ['workflows'],
      summary: 'Chat with a chatflow (a conversational workflow): JSON, or SSE with "stream": true',
      description: 'The chat of POST /api/v1/chat, with a chatflow instead of a bot: the same frames, sessions (a session is bound to its chatflow), ' +
        'per-conversation queue, ownership, cancel on disconnect and errors. `parameters` are the chatflow\'s inputs; `app_id` for a chatflow in an app, ' +
        '`bot_id` for one in the space library (not both: 400). Unknown or unpublished chatflow → 404; a missing required input → 400 with Coze\'s message. ' +
        'A chatflow that stops at a question node answers with its question; the next message on the same conversation or session is the reply.',
      params: WorkflowParams,
      body: ChatflowBodySchema,
      response: ChatflowResponses
    }
  }, async (request, reply) => {
    const b = request.body
    const req = {
      surface: 'workflow' as const,
      chatflow: { workflow_id: request.params.workflow_id, app_id: b.app_id, parameters: parametersOf(b.parameters, 'parameters'), ext: b.ext },
      bot_id: b.bot_id,
      user_id: b.user_id,
      messages: b.messages as GatewayMessage[],
      conversation_id: b.conversation_id,
      session_id: b.session_id
    }
    return answer(app, request, reply, b.stream === true, (ctx) => app.chat.chat(req, ctx), chatWire, (r) => chatAnswer(r))
  })

  app.get('/api/v1/workflows/:workflow_id/runs/:execute_id', {
    schema: {
      tags: ['workflows'],
      summary: 'The state of a workflow run (e.g. one started with is_async)',
      description: '`status` is `running`, `success` (with `output`, parsed when it is JSON) or `failed` (with `error: {code, message}`).',
      params: RunPathParams,
      response: RunStateResponses
    }
  }, async (request, reply) => {
    const { workflow_id: workflowId, execute_id: executeId } = request.params
    const r = await getWorkflowRun(app.coze, workflowId, executeId, upstreamOptions(request, reply))
    const message = r.status === 'success'
      ? 'Workflow run succeeded'
      : r.status === 'failed'
        ? `Workflow run failed: ${r.error?.message ?? 'no reason given'}`
        : r.interrupt ? interruptMessage(workflowId, r.interrupt) : 'Workflow run is still running'
    return ok(message, { ...r, workflow_id: workflowId, created_at: isoFromUnix(r.created_at), updated_at: isoFromUnix(r.updated_at) })
  })

  app.post('/api/v1/workflows/:workflow_id/resume', {
    schema: {
      tags: ['workflows'],
      summary: 'Resume an interrupted workflow run, streaming (SSE)',
      description: `Send the \`event_id\` and \`interrupt_type\` of the \`interrupt\` frame (or of a sync run's \`interrupt\`) and your answer as \`resume_data\`. An event_id that is unknown or already resumed → 400 (Coze 4000).\n\n${WORKFLOW_SSE_DOC}`,
      params: WorkflowParams,
      body: ResumeBodySchema,
      response: ResumeResponses
    }
  }, async (request, reply) => {
    const { workflow_id: workflowId } = request.params
    const { event_id: eventId, resume_data: resumeData, interrupt_type: interruptType } = request.body
    const call = upstreamOptions(request, reply)
    return relaySse(app, reply, (signal) => metered(request, resumeWorkflow(app.coze, { workflow_id: workflowId, event_id: eventId, resume_data: resumeData, interrupt_type: interruptType }, { ...limits, ...call, signal })), workflowWire)
  })

  app.post('/api/v1/workflows/:workflow_id/execute', {
    schema: {
      tags: ['workflows'],
      summary: 'Execute a workflow and wait for its result (the platform docs\' workflow API)',
      description: '`inputs` are the workflow\'s parameters. `data` = `{execution_id, status: "completed", result, start_time, end_time, debug_url, usage}`; ' +
        '`result` is Coze\'s result parsed when it is JSON. `session_id` is accepted and echoed back (a workflow run holds no conversation). ' +
        'A run that stops at a question node answers `status: "interrupted"` with `interrupt`.',
      params: WorkflowParams,
      body: ExecuteBodySchema,
      response: ExecuteResponses
    }
  }, async (request, reply) => {
    const { workflow_id: workflowId } = request.params
    const { inputs, session_id: sessionId } = request.body
    const startTime = now()
    const r = await runWorkflow(app.coze, { workflow_id: workflowId, parameters: parametersOf(inputs, 'inputs') },
      { ...upstreamOptions(request, reply), timeoutMs: syncTimeout() })
    await spend(request, r.usage)
    return ok(r.interrupt ? interruptMessage(workflowId, r.interrupt) : 'Workflow executed successfully', {
      execution_id: r.execute_id ?? null,
      status: r.interrupt ? 'interrupted' : 'completed',
      result: r.output,
      start_time: startTime,
      end_time: now(),
      debug_url: r.debug_url,
      usage: r.usage,
      ...(sessionId ? { session_id: sessionId } : {}),
      ...(r.interrupt ? { interrupt: r.interrupt } : {})
    })
  })
}

export default workflowRoutes
