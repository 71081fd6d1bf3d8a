// Coze bots as a chat UI needs them: name, description, icon, prologue, suggested
// questions and whether the bot is published. bots.listNew gives no prologue or
// suggested questions, so a listed page is completed with bots.retrieveNew per bot.
import type { BotInfo, ListBotInfo } from '@coze/api'
import { errors } from '../errors.js'
import { cozeCall, type CallOptions, type CozeClient } from './client.js'
import { toGatewayError } from './errors.js'

export interface BotSummary {
  bot_id: string
  /** same as bot_id (Coze's list calls it `id`) */
  id: string
  name: string
  description: string
  icon_url: string
  /** the bot's opening line; null when Coze could not give the bot's details */
  prologue: string | null
  suggested_questions: string[]
  is_published: boolean
  published_at: number | null
  updated_at: number | null
  version?: string | undefined
}

export interface BotPage {
  items: BotSummary[]
  total: number
}

export interface ListBotsParams {
  workspace_id: string
  page_num: number
  page_size: number
  publish_status?: string | undefined
}

type Opts = Pick<CallOptions, 'signal' | 'onLogid' | 'clock'>

/** How many retrieveNew calls a listed page runs at once. */
const DETAIL_CONCURRENCY = 6

function fromInfo (b: BotInfo, isPublished: boolean): BotSummary {
  return {
    bot_id: b.bot_id,
    id: b.bot_id,
    name: b.name ?? '',
    description: b.description ?? '',
    icon_url: b.icon_url ?? '',
    prologue: b.onboarding_info?.prologue ?? '',
    suggested_questions: b.onboarding_info?.suggested_questions ?? [],
    is_published: isPublished,
    published_at: null,
    updated_at: typeof b.update_time === 'number' ? b.update_time : null,
    ...(b.version ? { version: b.version } : {})
  }
}

/**
 * One bot. Coze's bot info has no "published" flag, so the published version is asked
 * for first; a bot Coze has no published version of is then read as its draft.
 */
export async function getBot (coze: CozeClient, botId: string, o: Opts = {}): Promise<BotSummary> {
  const retrieve = async (published: boolean) => {
    const b = await cozeCall(coze, o, (opts, api) => api.bots.retrieveNew(botId, { is_published: published }, opts), 'bot')
    if (!b || typeof b !== 'object' || typeof b.bot_id !== 'string') throw errors.upstreamMalformed('a bot profile')
    return b
  }
  try {
    return fromInfo(await retrieve(true), true)
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e
    try {
      return fromInfo(await retrieve(false), false)
    } catch {
      throw e
    }
  }
}

/** A bot's name and description as Coze gives them (the OpenAI model list). */
export async function botProfile (coze: CozeClient, botId: string, o: Opts = {}): Promise<{ name: string, description: string, created: number | undefined }> {
  const bot = await cozeCall(coze, o, (opts, api) => api.bots.retrieveNew(botId, undefined, opts), 'bot')
  if (!bot || typeof bot !== 'object') throw errors.upstreamMalformed('a bot profile')
  return { name: bot.name ?? '', description: bot.description ?? '', created: bot.create_time || undefined }
}

/** A page of bots (bots.listNew), each completed with its prologue and suggested questions. */
export async function listBots (coze: CozeClient, p: ListBotsParams, o: Opts = {}): Promise<BotPage> {
  const res = await cozeCall(coze, o, (opts, api) => api.bots.listNew({
    workspace_id: p.workspace_id,
    page_num: p.page_num,
    page_size: p.page_size,
    ...(p.publish_status ? { publish_status: p.publish_status } : {})
  }, opts), 'bot')
  if (!res || !Array.isArray(res.items)) throw errors.upstreamMalformed('a bot list')
  const items = await mapLimited(res.items, DETAIL_CONCURRENCY, (b) => complete(coze, b, o))
  return { items, total: typeof res.total === 'number' ? res.total : items.length }
}

async function complete (coze: CozeClient, b: ListBotInfo, o: Opts): Promise<BotSummary> {
  const base: BotSummary = {
    bot_id: b.id,
    id: b.id,
    name: b.name ?? '',
    description: b.description ?? '',
    icon_url: b.icon_url ?? '',
    prologue: null,
    suggested_questions: [],
    is_published: b.is_published === true,
    published_at: typeof b.published_at === 'number' && b.published_at > 0 ? b.published_at : null,
    updated_at: typeof b.updated_at === 'number' ? b.updated_at : null
  }
  try {
    const info = await cozeCall(coze, o, (opts, api) => api.bots.retrieveNew(b.id, { is_published: base.is_published }, opts), 'bot')
    return { ...base, prologue: info.onboarding_info?.prologue ?? '', suggested_questions: info.onboarding_info?.suggested_questions ?? [] }
  } catch (err) {
    // One bot's details failing must not fail the page; a client abort must.
    if (o.signal?.aborted) throw toGatewayError(err, 'bot')
    return base
  }
}

async function mapLimited<T, R> (items: T[], limit: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await f(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}
