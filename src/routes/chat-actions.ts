// Actions on a running chat: submit tool outputs (continue a chat that waits on a
// client-side tool) and cancel.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyInstance } from 'fastify'
import { ok } from '../envelope.js'
import { GatewayError } from '../errors.js'
import { aggregateChat, streamToolOutputs } from '../coze/chat.js'
import { toGatewayError } from '../coze/errors.js'
import { CancelBodySchema, CancelResponses, ToolOutputsBodySchema, ToolOutputsResponses } from '../schemas/chat-actions.js'
import { SSE_FRAMES_DOC } from '../schemas/chat.js'
import { clientAbortSignal } from '../client-abort.js'
import { apiWire, chatEnvelope, streamLimits } from './chat.js'
import { relaySse } from './sse-relay.js'

const now = () => new Date().toISOString()

/** A 4104 said "not cancellable": say why, with the chat's current status when Coze gives it. */
async function notCancelable (app: FastifyInstance, e: GatewayError, conversationId: string, chatId: string): Promise<GatewayError> {
  const status = await app.coze.api.chat.retrieve(conversationId, chatId, app.coze.options())
    .then((c) => c?.status as string | undefined, () => undefined)
  const why = status === 'requires_action'
    ? 'is waiting for tool outputs (status "requires_action"): submit them with POST /api/v1/chat/tool-outputs'
    : `has already finished${status ? ` (status "${status}")` : ''}`
  return new GatewayError(409, 'CHAT_NOT_CANCELABLE', `The chat ${chatId} ${why}, so it can no longer be cancelled (Coze code 4104). Only a chat that is still in progress can be cancelled.`,
    { cozeCode: e.cozeCode, logid: e.logid, cause: e })
}

const chatActionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/v1/chat/tool-outputs', {
    schema: {
      tags: ['chat'],
      summary: 'Continue a chat that waits on tool outputs (requires_action)',
      description: 'When a chat answers `status: "requires_action"` (JSON) or a `tool_calls` frame (SSE), run the tools and send one output per `tool_calls[].id`. ' +
        'The answer is that of POST /api/v1/chat: the aggregated JSON, or with `"stream": true` the same SSE frames. ' +
        'A chat that is not waiting for tool outputs, or an unknown tool_call_id → 400 (Coze 4000); an unknown chat → 404.\n\n' + SSE_FRAMES_DOC,
      body: ToolOutputsBodySchema,
      response: ToolOutputsResponses
    }
  }, async (request, reply) => {
    const { conversation_id: conversationId, chat_id: chatId, tool_outputs: outputs, stream, user_id: userId } = request.body
    await app.sessions.checkConversation(conversationId, userId)
    const turn = { conversation_id: conversationId, chat_id: chatId, tool_outputs: outputs.map((o) => ({ tool_call_id: o.tool_call_id, output: o.output })) }
    const onLogid = (l: string) => { if (!reply.sent) void reply.header('x-coze-logid', l) }
    const limits = streamLimits(app.config)
    if (stream === true) {
      return relaySse(app, reply, (signal) => app.upstream.track(streamToolOutputs(app.coze, turn, { ...limits, signal, onLogid })), apiWire,
        { 'x-coze-conversation-id': conversationId, 'x-coze-chat-id': chatId })
    }
    const r = await aggregateChat(app.upstream.track(streamToolOutputs(app.coze, turn, { ...limits, signal: clientAbortSignal(reply), onLogid })))
    return chatEnvelope(r, {})
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
    const { conversation_id: conversationId, chat_id: chatId, user_id: userId } = request.body
    await app.sessions.checkConversation(conversationId, userId)
    let chat
    try {
      chat = await app.coze.api.chat.cancel(conversationId, chatId, app.coze.options({
        signal: clientAbortSignal(reply),
        onLogid: (l) => { void reply.header('x-coze-logid', l) }
      }))
    } catch (err) {
      const e = toGatewayError(err)
      throw e.cozeCode === 4104 ? await notCancelable(app, e, conversationId, chatId) : e
    }
    return ok('Chat canceled', {
      conversation_id: chat?.conversation_id || conversationId,
      chat_id: chat?.id || chatId,
      status: (chat?.status as string | undefined) ?? 'canceled',
      ...(chat?.bot_id ? { bot_id: chat.bot_id } : {}),
      ...(typeof chat?.created_at === 'number' ? { created_at: chat.created_at } : {}),
      timestamp: now()
    })
  })
}

export default chatActionRoutes
