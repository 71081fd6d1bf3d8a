// POST /api/v1/chat: JSON (aggregated from the Coze stream, never polled) or SSE.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { GatewayMessage } from '../coze/messages.js'
import { ChatBodySchema, ChatResponses } from '../schemas/chat.js'
import { chatAnswer, chatWire } from '../wires/api.js'
import { answer } from './chat-reply.js'

const chatRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/v1/chat', {
    schema: {
      tags: ['chat'],
      summary: 'Chat with a bot (JSON, or SSE with "stream": true)',
      description: 'Non-stream: the gateway streams from Coze and aggregates the answer. Stream: one SSE frame per Coze delta, then chat_completed and end.',
      body: ChatBodySchema,
      response: ChatResponses
    }
  }, async (request, reply) => {
    const body = request.body
    const req = { ...body, surface: 'api' as const, messages: body.messages as GatewayMessage[] }
    return answer(app, request, reply, body.stream === true, (ctx) => app.chat.chat(req, ctx), chatWire, chatAnswer)
  })
}

export default chatRoutes
