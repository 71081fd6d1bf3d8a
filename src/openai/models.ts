// OpenAI model names → Coze bots and chatflows. A model is an alias from COZE_MODEL_MAP (of a
// bot or of a chatflow) or a raw bot id; no model means COZE_BOT_ID. An unknown name is never
// replaced by the default bot: Coze answers 4200 for it and the route turns that into 404
// model_not_found. (The chat service resolves the alias itself, src/chat/service.ts.)
import type { ChatflowAlias, Config } from '../config.js'
import type { CozeClient } from '../coze/client.js'
import { botProfile } from '../coze/bots.js'
import { GatewayError, errors } from '../errors.js'
import { InvalidParamError, ModelNotFoundError } from './errors.js'

export interface ResolvedModel {
  /** The name answered back in `model` */
  model: string
  botId: string
}

export function resolveModel (config: Config, model: string | undefined | null): ResolvedModel {
  const name = model?.trim()
  if (!name) {
    if (!config.COZE_BOT_ID) throw new InvalidParamError('model', 'model is required: this gateway has no default bot (COZE_BOT_ID is not set). GET /v1/models lists the models.', 'missing_required_parameter')
    return { model: config.COZE_BOT_ID, botId: config.COZE_BOT_ID }
  }
  return { model: name, botId: Object.hasOwn(config.modelMap, name) ? config.modelMap[name]! : name }
}

export interface ModelObject {
  id: string
  object: 'model'
  created: number
  owned_by: string
  /** The Coze bot behind the model (a library chatflow's bot, if any) */
  bot_id?: string
  /** The chatflow behind the model, for a chatflow alias */
  workflow_id?: string
  app_id?: string
  /** The bot's name in Coze, when Coze told us */
  name?: string
  description?: string
}

interface BotSummary { name: string, description: string, created: number }
type Lookup = { info: BotSummary } | { error: GatewayError }
interface CacheEntry { expires: number, value: Promise<Lookup> }

export interface CatalogOptions {
  /** How long a bot's name is kept */
  ttlMs: number
  /** How long a failed lookup is remembered, so a broken upstream is not hammered by /v1/models */
  failureTtlMs: number
  /** Bound on one lookup; /v1/models never waits longer than this on Coze */
  lookupTimeoutMs: number
  maxEntries: number
}

const STARTED = Math.floor(Date.now() / 1000)

/** The configured models, with bot names from Coze (cached). */
export class ModelCatalog {
  private readonly cache = new Map<string, CacheEntry>()
  private readonly opts: CatalogOptions

  constructor (private readonly coze: CozeClient, private readonly config: Config, opts: Partial<CatalogOptions> = {}) {
    this.opts = { ttlMs: 10 * 60_000, failureTtlMs: 30_000, lookupTimeoutMs: 5_000, maxEntries: 500, ...opts }
  }

  /** Bot aliases of COZE_MODEL_MAP, then the default bot under its own id, then the chatflow aliases. */
  async list (): Promise<ModelObject[]> {
    const { modelMap, chatflowMap } = this.config
    const entries = Object.entries(modelMap)
    const defaultBot = this.config.COZE_BOT_ID
    if (defaultBot && !Object.hasOwn(modelMap, defaultBot) && !Object.hasOwn(chatflowMap, defaultBot)) entries.push([defaultBot, defaultBot])
    const lookups = await Promise.all(entries.map(([, botId]) => this.lookup(botId)))
    return [
      ...entries.map(([id, botId], i) => toModel(id, botId, lookups[i]!)),
      ...Object.entries(chatflowMap).map(([id, c]) => chatflowModel(id, c))
    ]
  }

  /** One model; a raw bot id is checked with Coze. Throws ModelNotFoundError. */
  async retrieve (model: string): Promise<ModelObject> {
    if (Object.hasOwn(this.config.chatflowMap, model)) return chatflowModel(model, this.config.chatflowMap[model]!)
    const { model: id, botId } = resolveModel(this.config, model)
    const configured = Object.hasOwn(this.config.modelMap, id) || id === this.config.COZE_BOT_ID
    const found = await this.lookup(botId)
    if ('error' in found) {
      if (found.error.statusCode === 404) throw new ModelNotFoundError(id, found.error)
      if (!configured) throw found.error
    }
    return toModel(id, botId, found)
  }

  private lookup (botId: string): Promise<Lookup> {
    const now = Date.now()
    const hit = this.cache.get(botId)
    if (hit && hit.expires > now) return hit.value
    const entry: CacheEntry = { expires: now + this.opts.ttlMs, value: this.fetchBot(botId) }
    void entry.value.then((r) => { if ('error' in r) entry.expires = Date.now() + this.opts.failureTtlMs })
    this.cache.delete(botId)
    this.cache.set(botId, entry)
    if (this.cache.size > this.opts.maxEntries) this.cache.delete(this.cache.keys().next().value!)
    return entry.value
  }

  private async fetchBot (botId: string): Promise<Lookup> {
    try {
      const bot = await botProfile(this.coze, botId, { signal: AbortSignal.timeout(this.opts.lookupTimeoutMs) })
      return { info: { name: bot.name, description: bot.description, created: bot.created ?? STARTED } }
    } catch (err) {
      return { error: err instanceof GatewayError ? err : errors.internal(err) }
    }
  }
}

function chatflowModel (id: string, c: ChatflowAlias): ModelObject {
  return { id, object: 'model', created: STARTED, owned_by: 'coze', ...c }
}

function toModel (id: string, botId: string, found: Lookup): ModelObject {
  const m: ModelObject = { id, object: 'model', created: STARTED, owned_by: 'coze', bot_id: botId }
  if ('info' in found) {
    m.created = found.info.created
    if (found.info.name) m.name = found.info.name
    if (found.info.description) m.description = found.info.description
  }
  return m
}
