// The bots of a workspace and one bot's profile: what a chat UI shows before the first message.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { getBot, listBots, type BotSummary } from '../coze/bots.js'
import { isoFromUnix } from '../time.js'
import { BotParamsSchema, BotResponses, ListBotsQuerySchema, ListBotsResponses } from '../schemas/bots.js'
import { upstreamOptions } from '../plugins/request-context.js'

const botView = (b: BotSummary) => ({ ...b, published_at: isoFromUnix(b.published_at), updated_at: isoFromUnix(b.updated_at) })

const botRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/v1/bots', {
    schema: {
      tags: ['bots'],
      summary: 'Bots of a workspace, paged',
      description: '`data` = `[{bot_id, name, description, icon_url, prologue, suggested_questions, is_published, published_at, updated_at}]`, plus `pagination`. ' +
        'Coze\'s list has no prologue or suggested questions, so the gateway reads each listed bot\'s profile too; if that fails for a bot, its `prologue` is null.',
      querystring: ListBotsQuerySchema,
      response: ListBotsResponses
    }
  }, async (request, reply) => {
    const { workspace_id: workspaceId, page_num: pageNum, page_size: pageSize, publish_status: publishStatus } = request.query
    const page = await listBots(app.coze, { workspace_id: workspaceId, page_num: pageNum, page_size: pageSize, publish_status: publishStatus },
      upstreamOptions(request, reply))
    return ok('Bots retrieved successfully', page.items.map(botView), {
      pagination: { page_num: pageNum, page_size: pageSize, total_count: page.total, has_more: pageNum * pageSize < page.total }
    })
  })

  app.get('/api/v1/bots/:bot_id', {
    schema: {
      tags: ['bots'],
      summary: 'One bot: name, description, icon, prologue, suggested questions, published or not',
      description: 'The published version of the bot; a bot never published is read as its draft, with `is_published: false`. Unknown bot → 404.',
      params: BotParamsSchema,
      response: BotResponses
    }
  }, async (request, reply) => {
    const bot = await getBot(app.coze, request.params.bot_id, upstreamOptions(request, reply))
    return ok('Bot retrieved successfully', botView(bot))
  })
}

export default botRoutes
