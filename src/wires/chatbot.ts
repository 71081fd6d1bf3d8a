// The chatbot service's wire (product doc 004): no envelope, errors as {"detail"}, and
// `chunk` / `complete` SSE frames.
import { Type } from 'typebox'
import { errors, type GatewayError } from '../errors.js'
import type { SseWire } from '../sse.js'
import type { ChatEvent, ChatResult } from '../chat/types.js'

export const ChatbotFrameSchema = Type.Union([
  Type.Object({ type: Type.Literal('chunk'), data: Type.Object({ content: Type.String(), chunk_index: Type.Integer() }) }, { description: 'One per Coze delta' }),
  Type.Object({
    type: Type.Literal('complete'),
    data: Type.Object({ total_chunks: Type.Integer(), full_content: Type.String(), session_id: Type.String(), conversation_id: Type.String(), message_id: Type.String() })
  }, { description: 'The answer is complete' }),
  Type.Object({ type: Type.Literal('error'), data: Type.Object({ message: Type.String() }) }, { description: 'The stream failed after it began' })
], { description: 'Server-Sent Events: `data: <json>` frames; errors before the first frame are {"detail"} JSON with the HTTP status.' })

export function chatReply (r: ChatResult, sessionId: string) {
  if (r.status === 'requires_action') throw errors.toolOutputsUnsupported()
  return { response: r.content, session_id: sessionId, message_id: r.chat_id, timestamp: new Date().toISOString(), conversation_id: r.conversation_id }
}

/** chunk / complete / error frames (stateful: one per stream). */
export function chunkWire (sessionId: string): SseWire<ChatEvent> {
  let index = 0
  let full = ''
  return {
    async event (sse, ev) {
      if (ev.type === 'message_delta') {
        full += ev.content
        await sse.send({ type: 'chunk', data: { content: ev.content, chunk_index: index++ } })
      } else if (ev.type === 'chat_completed') {
        await sse.send({
          type: 'complete',
          data: { total_chunks: index, full_content: full, session_id: sessionId, conversation_id: ev.conversation_id, message_id: ev.chat_id }
        })
      } else if (ev.type === 'tool_calls') {
        throw errors.toolOutputsUnsupported()
      }
    },
    async error (sse, e) { await sse.send({ type: 'error', data: { message: e.message } }) },
    async end () {}
  }
}

export function errorBody (e: GatewayError) {
  return { detail: e.message }
}
