import type { Ctx, RouteDef } from './runtime.js'
import { beginChat, conversationForChat, parseEnterMessages, startTurn, str, visibleHistory } from './chat.js'
import { checkInputs, planChatflow, resolveChatflow } from './chatflows.js'
import { assertBotAllowed } from './auth.js'
import { badRequest, notFound } from './errors.js'
import { newId } from './ids.js'
import { chatFrame } from './sse.js'
import { debugUrl, parseParameters } from './workflows.js'

/**
 * POST /v1/workflows/chat: a chatflow turn. Stream only; chat-v3 events on real conversation
 * state (like /v3/chat), ending with `done` whose data is {debug_url}.
 */
function workflowChat (ctx: Ctx): void {
  const { body, rt } = ctx
  const workflowId = str(body.workflow_id)
  if (!workflowId) throw badRequest('workflow_id is required')
  const botId = str(body.bot_id)
  const appId = str(body.app_id)
  if (botId && appId) throw badRequest('bot_id and app_id cannot be set together')
  const kind = resolveChatflow(workflowId)
  if (!kind) throw notFound(`The workflow ${workflowId} does not exist or has not been published.`)
  if (botId) assertBotAllowed(ctx, botId)
  const additional = parseEnterMessages(body.additional_messages, 'additional_messages')
  if (additional.length === 0) throw badRequest('additional_messages is required')
  const parameters = parseParameters(body.parameters)
  checkInputs(kind, parameters)

  const conv = conversationForChat(ctx, ctx.query.conversation_id || str(body.conversation_id), botId)
  const visible = visibleHistory(conv).concat(additional)
  const awaiting = conv.awaitingReply === workflowId
  const chat = beginChat(ctx, conv, botId, additional, {}, true)
  const { plan, awaitsReply } = planChatflow(kind, visible, parameters, awaiting, (id) => rt.store.files.get(id))
  startTurn(ctx, chat, plan, {
    stream: true,
    doneFrame: chatFrame('done', { debug_url: debugUrl(newId(), workflowId) }),
    onComplete: kind === 'question' ? () => { conv.awaitingReply = awaitsReply ? workflowId : undefined } : undefined
  })
}

export const workflowChatRoutes: RouteDef[] = [
  { method: 'POST', path: '/v1/workflows/chat', handler: workflowChat, streamable: true, faultIdField: 'workflow_id' }
]
