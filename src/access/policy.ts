// What a request may do, once the gate (plugin.ts) has found its key: which bots and
// workflows it may use (the gateway's allow-lists and the key's own), its daily token
// budget and its open streams, and whose sessions and conversations it sees. The chat
// service, the workflow routes and the SSE relay ask here; nothing else decides.
import type { Config } from '../config.js'
import type { Surface } from '../chat/types.js'
import { errors, GatewayError } from '../errors.js'
import type { ApiKey, IdList, KeyRing } from './keys.js'
import { nextUtcMidnight, utcDay, type LimitCounters, type Release } from './counters.js'

/** The key a request came with; undefined when the gateway has no keys. */
export type Principal = ApiKey | undefined

const listed = (l: IdList, id: string) => l.all || l.ids.has(id)
const noRelease: Release = async () => {}

export class AccessPolicy {
  readonly keys: KeyRing
  private readonly allowedBots: ReadonlySet<string> | undefined
  /** On /v1, COZE_MODEL_MAP's bots count as listed too. */
  private readonly allowedOpenAIBots: ReadonlySet<string> | undefined
  private readonly allowedWorkflows: ReadonlySet<string> | undefined

  constructor (config: Pick<Config, 'access' | 'modelMap'>, private readonly counters: LimitCounters) {
    this.keys = config.access.keys
    this.allowedBots = config.access.allowedBots
    this.allowedOpenAIBots = this.allowedBots && new Set([...this.allowedBots, ...Object.values(config.modelMap)])
    this.allowedWorkflows = config.access.allowedWorkflows
  }

  get keysEnabled (): boolean { return this.keys.enabled }

  /**
   * The owner a session or conversation is recorded under: the user_id, or, when keys
   * are on, `<key id>:<user_id>` (key ids have no ":"), so that two keys never share one.
   * Records made before keys were turned on keep their plain owner (and are 404 to keys).
   */
  ownerOf (principal: Principal, userId: string | undefined): string | undefined {
    return principal ? `${principal.id}:${userId ?? ''}` : userId
  }

  /** The user_id of an owner, as the key that owns it sees it. */
  userOf (principal: Principal, owner: string): string {
    const prefix = principal ? `${principal.id}:` : ''
    return prefix && owner.startsWith(prefix) ? owner.slice(prefix.length) : owner
  }

  /** A recorded owner as an account-scope listing shows it: the user_id and, with keys, the key id. */
  describeOwner (owner: string): { user_id: string, key_id?: string } {
    const colon = owner.indexOf(':')
    const keyId = colon > 0 ? owner.slice(0, colon) : undefined
    if (keyId !== undefined && this.keys.keys.some((k) => k.id === keyId)) return { user_id: owner.slice(colon + 1), key_id: keyId }
    return { user_id: owner }
  }

  /**
   * With keys on, a conversation the gateway has no owner for (made outside it, or
   * forgotten after CONVERSATION_OWNER_TTL) is hidden too, except from `account` keys.
   */
  strictOwnership (principal: Principal): boolean {
    return principal !== undefined && !principal.scopes.has('account')
  }

  /** Everyone's conversations: only an `account` key; without keys, nobody. */
  seesEveryone (principal: Principal): boolean {
    return principal?.scopes.has('account') === true
  }

  botAllowed (principal: Principal, botId: string, surface: Surface = 'api'): boolean {
    return this.botRefusal(principal, botId, surface) === undefined
  }

  /** 403 before Coze is called for a bot outside ALLOWED_BOT_IDS or the key's `bots`. */
  checkBot (principal: Principal, botId: string, surface: Surface = 'api'): void {
    const why = this.botRefusal(principal, botId, surface)
    if (why) throw errors.botNotAllowed(botId, why)
  }

  workflowAllowed (principal: Principal, workflowId: string): boolean {
    return this.workflowRefusal(principal, workflowId) === undefined
  }

  /** 403 before Coze is called for a workflow or chatflow outside ALLOWED_WORKFLOW_IDS or the key's `workflows`. */
  checkWorkflow (principal: Principal, workflowId: string): void {
    const why = this.workflowRefusal(principal, workflowId)
    if (why) throw errors.workflowNotAllowed(workflowId, why)
  }

  private workflowRefusal (principal: Principal, workflowId: string): string | undefined {
    if (this.allowedWorkflows && !this.allowedWorkflows.has(workflowId)) return 'it is not in the gateway\'s ALLOWED_WORKFLOW_IDS'
    if (principal && !listed(principal.workflows, workflowId)) return `it is not in the workflows of the API key "${principal.name}"`
    return undefined
  }

  /** 429 QUOTA_EXCEEDED once the key's Coze tokens of the UTC day reached daily_tokens. */
  async checkBudget (principal: Principal): Promise<void> {
    if (!principal?.dailyTokens) return
    const used = await this.store(this.counters.tokensUsed(principal.id, utcDay()))
    if (used >= principal.dailyTokens) throw errors.quotaExceeded(principal.name, principal.dailyTokens, nextUtcMidnight())
  }

  /** Counts the real usage Coze reported (token_count) against the key's day. */
  async spend (principal: Principal, tokens: number | undefined): Promise<void> {
    if (!principal?.dailyTokens || !tokens || tokens <= 0) return
    await this.store(this.counters.addTokens(principal.id, utcDay(), tokens))
  }

  /** A slot among the key's max_streams; 429 TOO_MANY_STREAMS when all are taken. */
  async streamSlot (principal: Principal): Promise<Release> {
    if (!principal?.maxStreams) return noRelease
    const release = await this.store(this.counters.openStream(principal.id, principal.maxStreams))
    if (!release) throw errors.tooManyStreams(principal.name, principal.maxStreams)
    return release
  }

  /** What /api/v1/config shows: the mode and counts, never a key or a hash. */
  describe () {
    const keys = this.keys.keys
    return {
      mode: this.keys.enabled ? 'keys' as const : 'none' as const,
      keys: keys.length,
      publishable_keys: keys.filter((k) => k.origins).length,
      allowed_bot_ids: this.allowedBots ? [...this.allowedBots] : null,
      allowed_workflow_ids: this.allowedWorkflows ? [...this.allowedWorkflows] : null
    }
  }

  close (): Promise<void> { return this.counters.close() }

  private botRefusal (principal: Principal, botId: string, surface: Surface): string | undefined {
    const allowed = surface === 'openai' ? this.allowedOpenAIBots : this.allowedBots
    if (allowed && !allowed.has(botId)) return `it is not in the gateway's ALLOWED_BOT_IDS${surface === 'openai' ? ' (nor in COZE_MODEL_MAP)' : ''}`
    if (principal && !listed(principal.bots, botId)) return `it is not in the bots of the API key "${principal.name}"`
    return undefined
  }

  private async store<T> (p: Promise<T>): Promise<T> {
    try {
      return await p
    } catch (err) {
      if (err instanceof GatewayError) throw err
      throw errors.limitStoreUnavailable(err)
    }
  }
}
