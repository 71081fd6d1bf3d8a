import { Type, type Static, type TSchema } from 'typebox'
import { Envelope, Timestamp, UpstreamErrors, Usage, jsonOrStream, streamOnly } from './common.js'
import { WorkflowFrameSchema } from '../wires/workflow.js'
import { ChatFrameSchema } from '../wires/api.js'
import { ChatBodySchema, ChatDataSchema } from './chat.js'
import { CozeId } from './ids.js'

export const WorkflowParams = Type.Object({ workflow_id: CozeId('The Coze workflow id (published)') })
export const RunPathParams = Type.Object({
  workflow_id: CozeId('The Coze workflow id (published)'),
  execute_id: CozeId('The execute_id returned by an is_async run')
})

const Parameters = Type.Union([
  Type.Record(Type.String(), Type.Unknown()),
  Type.String({ description: 'The same object as a JSON string (as the Coze docs show it)' })
], { description: 'The workflow\'s input parameters, by name. A file input takes "{\\"file_id\\":\\"<id from /api/v1/upload>\\"}".' })

export const RunBodySchema = Type.Object({
  parameters: Type.Optional(Parameters),
  bot_id: Type.Optional(Type.String({ minLength: 1, description: 'Run in the context of this bot (not with app_id)' })),
  app_id: Type.Optional(Type.String({ minLength: 1, description: 'Run in the context of this app (not with bot_id)' })),
  is_async: Type.Optional(Type.Boolean({ description: 'Start the run and return its execute_id at once (a paid Coze feature: 402 otherwise)' })),
  stream: Type.Optional(Type.Boolean({ description: 'Answer with Server-Sent Events (see the description)' })),
  ext: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Coze ext: latitude, longitude, user_id', maxProperties: 16 }))
}, { examples: [{ parameters: { input: 'Hello' } }, { parameters: { input: 'Hello' }, stream: true }] })
export type RunBody = Static<typeof RunBodySchema>

export const ResumeBodySchema = Type.Object({
  event_id: Type.String({ minLength: 1, description: 'event_id of the interrupt frame' }),
  resume_data: Type.String({ description: 'The answer to the interrupt (e.g. the reply to a question node)' }),
  interrupt_type: Type.Integer({ description: 'interrupt_type of the interrupt frame' })
}, { examples: [{ event_id: '7400000000000000001/7400000000000000002', resume_data: 'Alice', interrupt_type: 2 }] })
export type ResumeBody = Static<typeof ResumeBodySchema>

export const ExecuteBodySchema = Type.Object({
  inputs: Type.Optional(Parameters),
  session_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Accepted and echoed back; a workflow run holds no conversation' }))
}, { examples: [{ inputs: { user_input: '如何使用Coze平台?' }, session_id: 'optional_session_id' }] })
export type ExecuteBody = Static<typeof ExecuteBodySchema>

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

export const InterruptSchema = Type.Object({
  event_id: Type.String(),
  interrupt_type: Type.Integer({ description: '2 question, 5 input, 6 local plugin, 7 OAuth' }),
  data: Type.String({ description: 'What the run asks, e.g. the question' }),
  node_title: Type.Optional(Type.String())
}, { description: 'The run waits for an answer: POST it to /api/v1/workflows/{workflow_id}/resume' })

const Output = Type.Unknown({ description: 'Coze\'s result string, parsed when it is JSON, as-is otherwise' })

const RunData = Type.Object({
  status: Type.String({ description: 'completed or interrupted (sync); running (is_async)' }),
  output: Type.Optional(Output),
  execute_id: Type.Optional(Type.String()),
  debug_url: Nullable(Type.String()),
  usage: Type.Optional(Nullable(Usage)),
  interrupt: Type.Optional(InterruptSchema)
}, { additionalProperties: true })

const RunStateData = Type.Object({
  execute_id: Type.String(),
  workflow_id: Type.String(),
  status: Type.String({ description: 'running, success or failed' }),
  output: Output,
  error: Nullable(Type.Object({ code: Type.Union([Type.Integer(), Type.String()]), message: Type.String() })),
  debug_url: Nullable(Type.String()),
  usage: Nullable(Usage),
  created_at: Nullable(Timestamp),
  updated_at: Nullable(Timestamp),
  interrupt: Type.Optional(InterruptSchema)
}, { examples: [{ execute_id: '7424000000000000001', workflow_id: '7366000000000000001', status: 'success', output: { output: 'Hello' }, error: null, debug_url: 'https://www.coze.cn/work_flow?execute_id=7424000000000000001', usage: { input_count: 50, output_count: 100, token_count: 150 }, created_at: '2025-01-15T10:30:00.000Z', updated_at: '2025-01-15T10:30:02.000Z' }] })

const ExecuteData = Type.Object({
  execution_id: Nullable(Type.String()),
  status: Type.String({ description: 'completed, or interrupted (resume it with /resume)' }),
  result: Output,
  start_time: Timestamp,
  end_time: Timestamp,
  debug_url: Nullable(Type.String()),
  usage: Nullable(Usage),
  session_id: Type.Optional(Type.String()),
  interrupt: Type.Optional(InterruptSchema)
})

export const RunResponses = {
  200: jsonOrStream(Envelope(RunData), WorkflowFrameSchema,
    'Sync: {status, output, execute_id?, debug_url, usage}. is_async: {execute_id, status: "running", debug_url}. With "stream": true: text/event-stream, one frame per workflow event.'),
  ...UpstreamErrors
}
export const RunStateResponses = { 200: Envelope(RunStateData), ...UpstreamErrors }
export const ExecuteResponses = { 200: Envelope(ExecuteData), ...UpstreamErrors }
export const ResumeResponses = { 200: streamOnly(WorkflowFrameSchema, 'text/event-stream, one frame per workflow event; errors before the first frame are JSON envelopes.'), ...UpstreamErrors }

export const WORKFLOW_SSE_DOC = `Server-Sent Events: each frame is \`data: <json>\` and a blank line; lines starting with \`:\` are heartbeats (Coze PING events become heartbeats).

| type | fields |
|---|---|
| \`workflow_message\` | \`node_title\`, \`content\`, \`node_is_finish\`, \`node_seq_id\`, \`usage?\` (last message of the End node), \`timestamp\` |
| \`interrupt\` | \`event_id\`, \`interrupt_type\`, \`data\`, \`node_title\`, \`interrupt_data: {event_id, type, data}\` (as Coze sent it), \`timestamp\`: the run waits; POST \`{event_id, resume_data, interrupt_type}\` to \`/api/v1/workflows/{workflow_id}/resume\`. The stream ends after it (no \`done\`). |
| \`error\` | \`message\`, \`code\`, \`status\`, \`coze_code?\`, \`logid?\`: the run failed, or the Coze stream broke off (\`UPSTREAM_TRUNCATED\`) |
| \`done\` | \`debug_url\`, \`execute_id\` (when Coze's debug_url names it), \`timestamp\`: the run finished |
| \`end\` | always last |

Errors before the first frame (unknown or unpublished workflow → 404, bad input → 400, …) are JSON envelopes.`

const ChatBody = ChatBodySchema.properties

export const ChatflowBodySchema = Type.Object({
  user_id: ChatBody.user_id,
  messages: ChatBody.messages,
  conversation_id: ChatBody.conversation_id,
  session_id: ChatBody.session_id,
  parameters: Type.Optional(Parameters),
  app_id: Type.Optional(Type.String({ minLength: 1, description: 'The app the chatflow is in (not with bot_id)' })),
  bot_id: Type.Optional(Type.String({ minLength: 1, description: 'For a chatflow in the space library: the bot it runs for (not with app_id). No default.' })),
  stream: ChatBody.stream,
  ext: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Coze ext: latitude, longitude, user_id', maxProperties: 16 }))
}, { examples: [{ user_id: 'user123', messages: [{ role: 'user', content: 'Hello' }], parameters: { city: 'Paris' } }] })
export type ChatflowBody = Static<typeof ChatflowBodySchema>

const ChatflowData = Type.Object({
  ...ChatDataSchema.properties,
  workflow_id: Type.String(),
  bot_id: Type.Optional(Type.String({ description: 'The library bot, when the request named one' })),
  debug_url: Nullable(Type.String({ description: 'Coze\'s debug URL of the run' }))
}, { additionalProperties: true })

export const ChatflowResponses = {
  200: jsonOrStream(Envelope(ChatflowData, { conversation_id: Type.String(), session_id: Type.Optional(Type.String()) }), ChatFrameSchema,
    'Non-stream: the answer aggregated from the chatflow\'s stream (application/json). With "stream": true: text/event-stream with the frames of POST /api/v1/chat; chat_completed carries debug_url.'),
  ...UpstreamErrors
}
