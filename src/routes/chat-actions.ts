// Actions on a running chat: submit tool outputs (continue a chat that waits on a
// client-side tool) and cancel.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { CancelBodySchema, CancelResponses, ToolOutputsBodySchema, ToolOutputsResponses } from '../schemas/chat-actions.js'
import { chatAnswer, chatWire } from '../wires/api.js'
import { answer } from './chat-reply.js'
import { isoFromUnix } from '../time.js'

const chatActionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/v1/chat/tool-outputs', {
    schema: {
      tags: ['chat'],
      summary: 'Continue a chat that waits on tool outputs (requires_action)',
      description: 'When a chat answers `status: "requires_action"` (JSON) or a `tool_calls` frame (SSE), run the tools and send one output per `tool_calls[].id`. ' +
        'The answer is that of POST /api/v1/chat: the aggregated JSON, or with `"stream": true` the same SSE frames. ' +
        'A chat that is not waiting for tool outputs, or an unknown tool_call_id → 400 (Coze 4000); an unknown chat, or another user\'s → 404.',
      body: ToolOutputsBodySchema,
      response: ToolOutputsResponses
    }
  }, async (request, reply) => {
    const b = request.body
    const req = {
      surface: 'api' as const,
      conversation_id: b.conversation_id,
      chat_id: b.chat_id,
      user_id: b.user_id,
      tool_outputs: b.tool_outputs.map((o) => ({ tool_call_id: o.tool_call_id, output: o.output }))
    }
    return answer(app, request, reply, b.stream === true, (ctx) => app.chat.toolOutputs(req, ctx), chatWire, (r) => chatAnswer(r, true),
      { 'x-coze-conversation-id': b.conversation_id, 'x-coze-chat-id': b.chat_id })
  })

  app.post('/api/v1/chat/cancel', {
    schema: {
      tags: ['chat'],
      summary: 'Cancel a chat that is still in progress',
      description: 'Answers the chat\'s final status (`canceled`). A chat that has already finished (or waits for tool outputs) → 409 `CHAT_NOT_CANCELABLE`; an unknown chat → 404. ' +
        'A streaming chat\'s ids are in the `x-coze-conversation-id` and `x-coze-chat-id` response headers, sent before the first frame.',
      body: CancelBodySchema,
      response: CancelResponses
    }
  }, async (request, reply) => {
    const chat = await app.chat.cancel(request.body, { signal: request.clientGone, onLogid: reply.onLogid, observation: request.observation, principal: request.principal })
    return ok('Chat canceled', { ...chat, ...(chat.created_at !== undefined ? { created_at: isoFromUnix(chat.created_at) } : {}), timestamp: new Date().toISOString() })
  })
}

export default chatActionRoutes
