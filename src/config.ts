// Every environment variable the gateway reads, in one TypeBox schema.
// Loaded once (server.ts); buildApp() only ever sees the typed Config.
import { Type, type Static } from 'typebox'
import { Ajv } from 'ajv'
import { parseTrustProxy } from './trust-proxy.js'
import { loadAccess, type AccessConfig } from './access/config.js'
import { CredentialConfigError, parseCredentials, type CredentialSpec } from './credentials-config.js'

const Bool = (def: boolean, description: string) => Type.Boolean({ default: def, description })
const Int = (def: number, description: string, minimum = 0, maximum?: number) =>
  Type.Integer({ default: def, minimum, ...(maximum === undefined ? {} : { maximum }), description })
const Str = (def: string, description: string) => Type.String({ default: def, description })

export const EnvSchema = Type.Object({
  COZE_API_TOKEN: Str('', 'Coze personal access token (server side only; never returned or logged)'),
  COZE_API_BASE: Str('https://api.coze.cn', 'Coze Open API base URL (https://api.coze.cn for coze.cn, https://api.coze.com for coze.com)'),
  COZE_BOT_ID: Str('', 'Default bot id when a request names none'),
  DEFAULT_USER_ID: Str('', 'Coze user_id used when a request names none'),
  HOST: Str('0.0.0.0', 'Listen address'),
  PORT: Int(2026, 'Listen port', 0, 65535),
  ENABLE_RATE_LIMIT: Bool(true, 'Per-client-IP rate limiting'),
  RATE_LIMIT_REQUESTS: Int(100, 'Requests allowed per window and client IP', 1),
  RATE_LIMIT_WINDOW: Int(60, 'Rate-limit window in seconds', 1),
  MAX_UPLOAD_MB: Int(10, 'Largest accepted upload, in MB', 1),
  BODY_LIMIT_KB: Int(1024, 'Largest accepted JSON body, in KB', 1),
  CORS_ORIGINS: Str('*', 'Allowed CORS origins: * or a comma-separated list'),
  PLAYGROUND: Bool(true, 'Serve the web playground at /playground (false: /playground is a 404)'),
  TRUST_PROXY: Str('false', 'Fastify trustProxy: false, true, a hop count, or comma-separated addresses/CIDRs'),
  LOG_LEVEL: Str('info', 'pino log level: fatal, error, warn, info, debug, trace, silent'),
  NODE_ENV: Str('production', 'Environment name reported by /api/v1/config'),
  HTTP_REQUEST_TIMEOUT_MS: Int(60_000, 'Time a client has to send its whole request, headers and body, on every route but uploads (ms); the response may stream longer', 1),
  UPLOAD_TIMEOUT_MS: Int(300_000, 'Time a client has to send a whole upload (POST /api/v1/upload, the transcription routes) (ms)', 1),
  KEEP_ALIVE_TIMEOUT_MS: Int(72_000, 'How long an idle keep-alive connection stays open (ms); above your load balancer\'s idle timeout', 1),
  MAX_CONNECTIONS_PER_IP: Int(256, 'Open connections (requests in flight, behind a trusted proxy) per client IP; 0 = no cap'),
  COZE_CONNECT_TIMEOUT_MS: Int(30_000, 'Upstream connect + first byte timeout (ms)', 1),
  COZE_IDLE_TIMEOUT_MS: Int(60_000, 'Longest silence allowed between upstream stream events (ms)', 1),
  COZE_REQUEST_TIMEOUT_MS: Int(30_000, 'Timeout of non-streaming upstream calls (ms)', 1),
  COZE_TRANSPORT: Type.Union([Type.Literal('undici'), Type.Literal('sdk')], { default: 'undici', description: 'How the chat, chatflow and workflow streams reach Coze: undici (a lean transport that speaks what the SDK speaks) or sdk (through the @coze/api SDK, as every other call)' }),
  COZE_HTTP2: Bool(false, 'The lean transport (COZE_TRANSPORT=undici) multiplexes its streams over HTTP/2: ALPN h2 for an https: COZE_API_BASE (HTTP/1.1 when the server offers no h2), h2c with prior knowledge for an http: one; the SDK\'s calls stay HTTP/1.1'),
  COZE_WORKFLOW_TIMEOUT_MS: Int(600_000, 'Timeout of synchronous workflow runs (run without stream/is_async, execute) (ms)', 1),
  SSE_HEARTBEAT_MS: Int(15_000, 'Heartbeat comment interval while the upstream is silent (ms)', 1),
  SHUTDOWN_GRACE_MS: Int(10_000, 'Grace delay on SIGTERM before open work is cut (ms)', 1),
  HEALTH_CHECK_INTERVAL_MS: Int(60_000, 'How often /health may re-check Coze in the background (ms)', 1000),
  SESSION_STORE: Type.Union([Type.Literal('sqlite'), Type.Literal('memory'), Type.Literal('redis')], { default: 'sqlite', description: 'Where sessions live: sqlite (a file, survives restarts), memory (tests), redis (several instances)' }),
  SESSION_DB_PATH: Str('./data/sessions.db', 'SQLite file of the sqlite session store'),
  SESSION_TTL: Int(1800, 'Seconds of inactivity after which a session is removed', 1),
  CONVERSATION_OWNER_TTL: Int(604_800, 'Seconds the gateway remembers which user_id a conversation belongs to, after its last use', 1),
  REDIS_URL: Str('', 'Redis URL for SESSION_STORE=redis, e.g. redis://localhost:6379/0'),
  REDIS_KEY_PREFIX: Str('coze-gw:', 'Prefix of every Redis key the gateway writes'),
  CHAT_QUEUE_TIMEOUT_MS: Int(30_000, 'Longest wait of a chat queued behind another chat on the same session or conversation (ms); over it: 409', 1),
  COZE_MODEL_MAP: Str('{}', 'OpenAI-compatible API: JSON object from model name (alias) to Coze bot id'),
  COZE_VOICE_MAP: Str('{}', 'Audio: JSON object from voice name (e.g. an OpenAI voice such as "alloy") to Coze voice_id'),
  OPENAI_IMAGE_MAX_MB: Int(10, 'OpenAI-compatible API: largest image_url image (data: or fetched), in MB', 1),
  OPENAI_IMAGE_FETCH_TIMEOUT_MS: Int(10_000, 'OpenAI-compatible API: time allowed to fetch an http(s) image_url (ms)', 1),
  OPENAI_IMAGE_ALLOW_PRIVATE: Bool(false, 'OpenAI-compatible API: allow image_url fetches to loopback/private/link-local addresses (SSRF: keep false where untrusted clients reach the gateway)'),
  GATEWAY_KEYS_FILE: Str('', 'Access control: JSON file of gateway API keys {"keys": [...]} (see README "Access control")'),
  GATEWAY_API_KEYS: Str('', 'Access control: comma-separated raw gateway API keys with every scope (quick setups)'),
  ALLOWED_BOT_IDS: Str('', 'Access control: comma-separated bot ids clients may use (empty: any); COZE_MODEL_MAP bots count as listed on /v1'),
  ALLOWED_WORKFLOW_IDS: Str('', 'Access control: comma-separated workflow ids clients may run (empty: any)'),
  ACCOUNT_ROUTES: Bool(true, 'Access control: false turns off the account routes (user info, workspaces, bots, connection test)'),
  COZE_API_TOKENS: Str('', 'Credential pool: several Coze personal access tokens, comma-separated (with COZE_API_TOKEN, if set, first)'),
  COZE_OAUTH_CONFIG_FILE: Str('', 'OAuth JWT app: the JSON file the Coze console downloads (several, comma-separated, make a pool)'),
  COZE_OAUTH_APP_ID: Str('', 'OAuth JWT app id (instead of COZE_OAUTH_CONFIG_FILE)'),
  COZE_OAUTH_KEY_ID: Str('', 'OAuth JWT app: the public key id (kid)'),
  COZE_OAUTH_PRIVATE_KEY: Str('', 'OAuth JWT app: the private key, PEM (never returned or logged)'),
  COZE_OAUTH_PRIVATE_KEY_FILE: Str('', 'OAuth JWT app: a file holding the private key, PEM'),
  COZE_OAUTH_TOKEN_TTL: Type.Integer({ default: 900, minimum: 1, maximum: 86399, description: 'Lifetime asked for each OAuth access token (duration_seconds), in seconds' }),
  COZE_OAUTH_SESSION_ISOLATION: Bool(false, 'OAuth: mint a token per end user (session_name = the user), so Coze keeps their conversations apart'),
  COZE_OAUTH_SESSION_CACHE_SIZE: Int(10_000, 'OAuth session isolation: how many per-user tokens are cached (least recently used out)', 1),
  COZE_CREDENTIAL_STRATEGY: Type.Union([Type.Literal('round-robin'), Type.Literal('least-recently-limited')], { default: 'round-robin', description: 'How requests are spread across the credential pool' }),
  COZE_CREDENTIAL_COOLDOWN_MS: Int(1000, 'First cooldown of a rate-limited credential when Coze sends no Retry-After (ms); doubles on each limit in a row', 1),
  COZE_CREDENTIAL_COOLDOWN_MAX_MS: Int(300_000, 'Longest cooldown of a rate-limited credential (ms), Retry-After included', 1),
  COZE_CREDENTIAL_RECHECK_MS: Int(30_000, 'How often a disabled credential is checked again in the background (users/me) (ms)', 100),
  COZE_VEND_MAX_TTL: Type.Integer({ default: 900, minimum: 1, maximum: 86399, description: 'POST /api/v1/auth/token: longest lifetime of a vended token, in seconds' }),
  METRICS_ENABLED: Bool(true, 'Prometheus metrics at GET /metrics (false: not collected, /metrics is a 404)'),
  METRICS_TOKEN: Str('', 'When set, GET /metrics needs Authorization: Bearer <METRICS_TOKEN>'),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Serve /metrics on this port only (a second listener), not on PORT' })),
  METRICS_HOST: Str('', 'Listen address of the METRICS_PORT listener (default: HOST)')
})

type Env = Static<typeof EnvSchema>

export type UpstreamMode = 'coze' | 'emulator'

export interface Config extends Env {
  /** 'emulator' when running on the built-in Coze emulator (npm run demo) */
  upstreamMode: UpstreamMode
  version: string
  /** COZE_MODEL_MAP parsed: model alias → Coze bot id (null prototype) */
  modelMap: Readonly<Record<string, string>>
  /** Worth a warning at start: an alias read, a base URL fixed, TRUST_PROXY=true … */
  warnings: readonly string[]
  /** COZE_MODEL_MAP's chatflow entries: model alias → chatflow (null prototype) */
  chatflowMap: Readonly<Record<string, ChatflowAlias>>
  /** COZE_VOICE_MAP parsed: voice name → Coze voice_id (null prototype) */
  voiceMap: Readonly<Record<string, string>>
  /** Gateway API keys and allow-lists (GATEWAY_KEYS_FILE, GATEWAY_API_KEYS, ALLOWED_*_IDS) */
  access: AccessConfig
  /** The Coze credentials: PATs (COZE_API_TOKEN, COZE_API_TOKENS) or OAuth JWT apps; empty when none is set */
  credentials: readonly CredentialSpec[]
}

/** A COZE_MODEL_MAP value that names a chatflow instead of a bot. */
export interface ChatflowAlias { workflow_id: string, app_id?: string, bot_id?: string }

export class ConfigError extends Error {}

/** The chatbot service's variable names (product doc 004) → ours. Read with a warning, never ignored. */
export const ENV_ALIASES: Readonly<Record<string, keyof Env>> = {
  COZE_BASE_URL: 'COZE_API_BASE',
  SERVER_HOST: 'HOST',
  SERVER_PORT: 'PORT',
  COZE_USER_ID: 'DEFAULT_USER_ID'
}

type EnvKey = keyof typeof EnvSchema.properties
const ENV_KEYS = Object.keys(EnvSchema.properties) as EnvKey[]

// Ajv checks and converts the variables that are set, against their own schemas: a start
// sets a handful of the ~70, and the compile time grows with the schema (cold start). The
// schema is ours, so it is not checked against JSON Schema's meta-schema at each start.
let ajv: Ajv | undefined
const validators = new Map<string, ReturnType<Ajv['compile']>>()
function validatorFor (keys: EnvKey[]): ReturnType<Ajv['compile']> {
  const id = keys.join(',')
  let v = validators.get(id)
  if (!v) {
    ajv ??= new Ajv({ coerceTypes: true, allErrors: true, strict: false, validateSchema: false, code: { optimize: false } })
    v = ajv.compile({ type: 'object', properties: Object.fromEntries(keys.map((k) => [k, EnvSchema.properties[k]])) })
    validators.set(id, v)
  }
  return v
}

/** One line per problem, each naming the variable. */
const invalid = (problems: string[]) => new ConfigError(problems.map((p) => `Invalid configuration: ${p}`).join('\n'))

export function loadConfig (env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const warnings: string[] = []
  const problems: string[] = []
  const raw: Record<string, unknown> = {}
  for (const key of ENV_KEYS) {
    const v = env[key]
    if (v !== undefined && v !== '') raw[key] = v
  }
  for (const [alias, ours] of Object.entries(ENV_ALIASES)) {
    const v = env[alias]
    if (v === undefined || v === '') continue
    if (raw[ours] === undefined) {
      raw[ours] = v
      warnings.push(`${alias} is read as ${ours} (the chatbot service's name for it): rename it to ${ours}.`)
    } else if (raw[ours] !== v) {
      warnings.push(`${alias} is ignored: ${ours} is set too, and wins. Remove ${alias}.`)
    }
  }
  // Empty, CORS_ORIGINS would fall back to the default "*" (any origin): refused instead.
  if (env.CORS_ORIGINS !== undefined && env.CORS_ORIGINS.trim() === '') {
    problems.push('CORS_ORIGINS: empty. Set * to allow any origin, or a comma-separated list of origins (https://app.example.com); remove the line for the default *')
  }
  // Ajv (already loaded for Fastify's validation) converts the strings; typebox/value
  // would add ~150 ms to the cold start for the same job. The others get their defaults.
  const value = { ...raw } as Env
  const validate = validatorFor(ENV_KEYS.filter((k) => raw[k] !== undefined))
  if (!validate(value)) {
    // One line per variable; a choice lists its allowed values.
    const byVar = new Map<string, string>()
    for (const e of validate.errors ?? []) {
      const key = e.instancePath.slice(1) || 'env'
      const allowed = e.keyword === 'const' ? `must be one of ${[byVar.get(key)?.replace(/^must be one of /, ''), e.params.allowedValue].filter(Boolean).join(', ')}` : undefined
      if (allowed) byVar.set(key, allowed)
      else if (e.keyword !== 'anyOf' || !byVar.has(key)) byVar.set(key, e.message ?? 'is invalid')
    }
    problems.push(...[...byVar].map(([key, msg]) => `${key}: ${msg} (got ${JSON.stringify(raw[key])})`))
    throw invalid(problems)
  }
  for (const k of ENV_KEYS) {
    const def = (EnvSchema.properties[k] as { default?: unknown }).default
    if (raw[k] === undefined && def !== undefined) (value as Record<string, unknown>)[k] = def
  }
  const base = cozeApiBase(value.COZE_API_BASE)
  if ('error' in base) problems.push(`COZE_API_BASE: ${base.error}`)
  else {
    value.COZE_API_BASE = base.url
    if (base.warning) warnings.push(base.warning)
  }
  try {
    const tp = parseTrustProxy(value.TRUST_PROXY)
    if (tp.warning) warnings.push(tp.warning)
  } catch (err) {
    problems.push(`TRUST_PROXY: ${(err as Error).message} (got ${JSON.stringify(value.TRUST_PROXY)})`)
  }
  const badOrigin = value.CORS_ORIGINS.trim() === '' ? undefined : value.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean).find((o) => !isOrigin(o))
  if (badOrigin !== undefined) {
    problems.push(`CORS_ORIGINS: ${JSON.stringify(badOrigin)} is not an origin. Write * alone, or origins as scheme://host[:port] with no path, e.g. https://app.example.com,http://localhost:5173`)
  }
  if (value.SESSION_STORE === 'redis' && !value.REDIS_URL) {
    problems.push('REDIS_URL: required with SESSION_STORE=redis (e.g. redis://localhost:6379/0)')
  }
  if (problems.length > 0) throw invalid(problems)
  const models = parseModelMap(value.COZE_MODEL_MAP)
  let credentials: CredentialSpec[]
  try {
    credentials = parseCredentials(value)
  } catch (err) {
    if (err instanceof CredentialConfigError) throw new ConfigError(`Invalid configuration: ${err.message}`)
    throw err
  }
  return { ...value, upstreamMode: 'coze', version: '1.0.0', modelMap: models.bots, chatflowMap: models.chatflows, voiceMap: parseVoiceMap(value.COZE_VOICE_MAP), credentials, access: loadAccess(value), warnings, ...overrides }
}

// Paths the SDK appends itself: a base ending with one is a copied endpoint URL
// (the chatbot doc's COZE_BASE_URL=https://api.coze.cn/v3).
const API_PATH_SUFFIX = /\/(?:v1|v3|open_api\/v2)$/

/** COZE_API_BASE checked: an http(s) URL, without trailing slashes or a copied API path. */
export function cozeApiBase (text: string): { url: string, warning?: string } | { error: string } {
  const example = 'https://api.coze.cn (coze.cn accounts) or https://api.coze.com (coze.com)'
  const got = JSON.stringify(text)
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return { error: `${got} has no scheme: write the whole URL, e.g. ${example}` }
  let u: URL
  try { u = new URL(text) } catch { return { error: `${got} is not a URL: write e.g. ${example}` } }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return { error: `${got} must be an http(s) URL, e.g. ${example}` }
  if (u.search || u.hash) return { error: `${got} must not have a query or fragment: write e.g. ${example}` }
  const trimmed = text.replace(/\/+$/, '')
  const suffix = API_PATH_SUFFIX.exec(trimmed)?.[0]
  if (!suffix) return { url: trimmed }
  const url = trimmed.slice(0, -suffix.length)
  return { url, warning: `COZE_API_BASE ends with ${suffix}, which the Coze SDK adds itself: using ${url}. Set COZE_API_BASE=${url}.` }
}

/** `*`, or scheme://host[:port] (a trailing slash is dropped by the CORS plugin). */
function isOrigin (o: string): boolean {
  if (o === '*') return true
  try {
    const u = new URL(o)
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o.replace(/\/+$/, '')
  } catch {
    return false
  }
}

/**
 * COZE_MODEL_MAP → alias → bot id, or alias → chatflow ({"workflow_id", "app_id"?, "bot_id"?}).
 * Throws ConfigError with the reason and an example.
 */
export function parseModelMap (text: string): { bots: Readonly<Record<string, string>>, chatflows: Readonly<Record<string, ChatflowAlias>> } {
  const fail = (why: string) => new ConfigError(
    `Invalid configuration: COZE_MODEL_MAP: ${why}. Expected a JSON object from model name to Coze bot id, e.g. {"gpt-4o":"7537334510896185359"}, ` +
    'or to a chatflow, e.g. {"support":{"workflow_id":"7400000000000000001","app_id":"7400000000000000002"}}')
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch (err) { throw fail(`not valid JSON (${(err as Error).message})`) }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw fail('not a JSON object')
  const bots: Record<string, string> = Object.create(null)
  const chatflows: Record<string, ChatflowAlias> = Object.create(null)
  const id = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined)
  for (const [alias, target] of Object.entries(parsed)) {
    const name = alias.trim()
    if (!name) throw fail('a model name is empty')
    if (target && typeof target === 'object' && !Array.isArray(target)) {
      const t = target as Record<string, unknown>
      const workflowId = id(t.workflow_id)
      if (!workflowId) throw fail(`the chatflow of "${alias}" needs a non-empty string "workflow_id"`)
      for (const k of ['app_id', 'bot_id']) if (t[k] !== undefined && !id(t[k])) throw fail(`"${k}" of "${alias}" must be a non-empty string`)
      if (t.app_id !== undefined && t.bot_id !== undefined) throw fail(`"${alias}" names both app_id and bot_id: a chatflow is in an app or in the library, not both`)
      chatflows[name] = { workflow_id: workflowId, ...(id(t.app_id) ? { app_id: id(t.app_id)! } : {}), ...(id(t.bot_id) ? { bot_id: id(t.bot_id)! } : {}) }
    } else {
      const botId = id(target)
      if (!botId) throw fail(`the bot id of "${alias}" must be a non-empty string`)
      bots[name] = botId
    }
  }
  return { bots: Object.freeze(bots), chatflows: Object.freeze(chatflows) }
}

/** COZE_VOICE_MAP → voice name → Coze voice_id. */
export function parseVoiceMap (text: string): Readonly<Record<string, string>> {
  const fail = (why: string) => new ConfigError(
    `Invalid configuration: COZE_VOICE_MAP: ${why}. Expected a JSON object from voice name to Coze voice_id, e.g. {"alloy":"7426720361733046281"}`)
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch (err) { throw fail(`not valid JSON (${(err as Error).message})`) }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw fail('not a JSON object')
  const map: Record<string, string> = Object.create(null)
  for (const [name, voiceId] of Object.entries(parsed)) {
    if (!name.trim()) throw fail('a voice name is empty')
    if (typeof voiceId !== 'string' || !voiceId.trim()) throw fail(`the voice_id of "${name}" must be a non-empty string`)
    map[name.trim()] = voiceId.trim()
  }
  return Object.freeze(map)
}
