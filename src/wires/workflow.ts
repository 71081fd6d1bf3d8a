// The SSE wire of workflow runs (stream and resume): one frame per Coze workflow event,
// Coze PING as a heartbeat comment, then the /api/v1 error and end frames.
import { Type } from 'typebox'
import type { WorkflowEvent } from '../coze/workflows.js'
import type { SseWire } from '../sse.js'
import { EndFrameSchema, ErrorFrameSchema, streamEnd } from './api.js'
import { Timestamp, Usage } from '../schemas/common.js'

const now = () => new Date().toISOString()

export const WorkflowFrameSchema = Type.Union([
  Type.Object({
    type: Type.Literal('workflow_message'),
    node_title: Type.String(),
    content: Type.String(),
    node_is_finish: Type.Boolean(),
    node_seq_id: Type.Optional(Type.String()),
    usage: Type.Optional(Usage),
    timestamp: Timestamp
  }, { description: 'Output of a node; usage on the last message of the End node' }),
  Type.Object({
    type: Type.Literal('interrupt'),
    event_id: Type.String(),
    interrupt_type: Type.Integer(),
    data: Type.String(),
    node_title: Type.Optional(Type.String()),
    interrupt_data: Type.Object({ event_id: Type.String(), type: Type.Integer(), data: Type.String() }, { description: 'As Coze sent it' }),
    timestamp: Timestamp
  }, { description: 'The run waits: POST {event_id, resume_data, interrupt_type} to /api/v1/workflows/{workflow_id}/resume. No done follows.' }),
  Type.Object({ type: Type.Literal('done'), debug_url: Type.Union([Type.String(), Type.Null()]), execute_id: Type.Optional(Type.String()), timestamp: Timestamp },
    { description: 'The run finished' }),
  ErrorFrameSchema,
  EndFrameSchema
], { description: 'Server-Sent Events: each frame is `data: <json>` and a blank line; lines starting with `:` are heartbeats (Coze PING events become heartbeats).' })

export const workflowWire: SseWire<WorkflowEvent> = {
  async event (sse, ev) {
    switch (ev.type) {
      case 'ping':
        await sse.ping()
        break
      case 'workflow_message':
        await sse.send({ ...ev, timestamp: now() })
        break
      case 'interrupt':
        await sse.send({ ...ev, interrupt_data: { event_id: ev.event_id, type: ev.interrupt_type, data: ev.data }, timestamp: now() })
        break
      case 'done':
        await sse.send({ type: 'done', debug_url: ev.debug_url, ...(ev.execute_id ? { execute_id: ev.execute_id } : {}), timestamp: now() })
        break
    }
  },
  ...streamEnd
}
