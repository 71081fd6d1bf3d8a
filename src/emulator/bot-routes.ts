import type { Ctx, RouteDef } from './runtime.js'
import type { BotDef } from './bots.js'
import { BOTS, findBot } from './bots.js'
import { EMULATED_USER } from './state.js'
import { badRequest, notFound } from './errors.js'
import { paging } from './account.js'
import { sendOk } from './respond.js'

const PUBLISHED_AT = 1735689600 // 2025-01-01
const WORKSPACE_ID = '7500000000000000101'

function iconOf (b: BotDef): string {
  return `https://example.invalid/bots/${b.id}.png`
}

function listItem (b: BotDef): Record<string, unknown> {
  return {
    id: b.id,
    name: b.name,
    icon_url: iconOf(b),
    updated_at: PUBLISHED_AT,
    description: b.description,
    is_published: true,
    published_at: PUBLISHED_AT,
    owner_user_id: EMULATED_USER.user_id,
    folder_id: ''
  }
}

function botInfo (b: BotDef): Record<string, unknown> {
  return {
    bot_id: b.id,
    name: b.name,
    description: b.description,
    icon_url: iconOf(b),
    create_time: PUBLISHED_AT,
    update_time: PUBLISHED_AT,
    version: '1',
    prompt_info: { prompt: `You are the ${b.name} bot of the Coze emulator.` },
    onboarding_info: { prologue: b.prologue, suggested_questions: b.suggested_questions },
    bot_mode: 0,
    plugin_info_list: [],
    model_info: { model_id: '7500000000000000900', model_name: 'emulator-model' },
    knowledge: { knowledge_infos: [] },
    shortcut_commands: [],
    workflow_info_list: [],
    variables: [],
    owner_user_id: EMULATED_USER.user_id,
    folder_id: '',
    space_id: WORKSPACE_ID
  }
}

/** GET /v1/bots (bots.listNew); page_num or page_index */
function list (ctx: Ctx): void {
  const { page, size } = paging(ctx.query, 20, 50)
  const status = ctx.query.publish_status ?? 'published_online'
  const visible = status === 'unpublished_draft' ? [] : BOTS
  sendOk(ctx.res, ctx.logid, { total: visible.length, items: visible.slice((page - 1) * size, page * size).map(listItem) }, ctx.fault)
}

function retrieveById (ctx: Ctx, id: string | undefined): void {
  if (!id) throw badRequest('bot_id is required')
  const b = findBot(id)
  if (!b) throw notFound(`The bot ${id} does not exist or has not been published to the API channel.`)
  sendOk(ctx.res, ctx.logid, botInfo(b), ctx.fault)
}

/** GET /v1/space/published_bots_list (deprecated bots.list) */
function legacyList (ctx: Ctx): void {
  const { page, size } = paging(ctx.query, 20, 50)
  const items = BOTS.slice((page - 1) * size, page * size).map((b) => ({
    bot_id: b.id, bot_name: b.name, description: b.description, icon_url: iconOf(b), publish_time: String(PUBLISHED_AT)
  }))
  sendOk(ctx.res, ctx.logid, { total: BOTS.length, space_bots: items }, ctx.fault)
}

export const botRoutes: RouteDef[] = [
  { method: 'GET', path: '/v1/bots', handler: list },
  { method: 'GET', path: /^\/v1\/bots\/([^/]+)$/, handler: (ctx) => retrieveById(ctx, ctx.params[0]) },
  { method: 'GET', path: '/v1/bot/get_online_info', handler: (ctx) => retrieveById(ctx, ctx.query.bot_id) },
  { method: 'GET', path: '/v1/space/published_bots_list', handler: legacyList }
]
