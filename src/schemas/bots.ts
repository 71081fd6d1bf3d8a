import { Type } from 'typebox'
import { Envelope, PageNum, PageSize, Timestamp, UpstreamErrors } from './common.js'
import { CozeId } from './ids.js'

export const BotSchema = Type.Object({
  bot_id: Type.String(),
  id: Type.String({ description: 'Same as bot_id' }),
  name: Type.String(),
  description: Type.String(),
  icon_url: Type.String(),
  prologue: Type.Union([Type.String(), Type.Null()], { description: 'The opening line; null in a list when Coze could not give this bot\'s details' }),
  suggested_questions: Type.Array(Type.String()),
  is_published: Type.Boolean(),
  published_at: Type.Union([Timestamp, Type.Null()], { description: 'ISO 8601 (list only)' }),
  updated_at: Type.Union([Timestamp, Type.Null()], { description: 'ISO 8601' }),
  version: Type.Optional(Type.String())
}, { examples: [{ bot_id: '7537334510896185359', id: '7537334510896185359', name: 'Echo', description: 'Repeats your question.', icon_url: 'https://…/icon.png', prologue: 'Hi!', suggested_questions: ['Which turn is this?'], is_published: true, published_at: '2025-01-01T00:00:00.000Z', updated_at: '2025-01-01T00:00:00.000Z' }] })

export const ListBotsQuerySchema = Type.Object({
  workspace_id: CozeId('The Coze workspace (space) id: see GET /api/v1/workspaces'),
  page_num: PageNum(),
  page_size: PageSize(50),
  publish_status: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('published_online'), Type.Literal('published_draft'), Type.Literal('unpublished_draft')], {
    description: 'Coze filter; default published_online (bots published as the current version)'
  }))
})

export const BotParamsSchema = Type.Object({ bot_id: CozeId('The Coze bot id') })

const Pagination = Type.Object({ page_num: Type.Integer(), page_size: Type.Integer(), total_count: Type.Integer(), has_more: Type.Boolean() })

export const ListBotsResponses = { 200: Envelope(Type.Array(BotSchema), { pagination: Pagination }), ...UpstreamErrors }
export const BotResponses = { 200: Envelope(BotSchema), ...UpstreamErrors }
