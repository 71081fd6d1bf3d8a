// GET /api/v1/config: what the gateway runs with. Never the token itself.
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { Envelope, Timestamp } from '../schemas/common.js'
import { credentialsOf } from '../credentials-config.js'

const CredentialState = Type.Object({
  index: Type.Integer({ description: 'Position in the pool (COZE_API_TOKEN first, then COZE_API_TOKENS; or the OAuth apps in order)' }),
  kind: Type.String({ description: 'pat or oauth' }),
  app_id: Type.Union([Type.String(), Type.Null()], { description: 'The OAuth app id (never a token or key)' }),
  state: Type.String({ description: 'active, cooldown (rate-limited until cooldown_until) or disabled (refused by Coze; checked again in the background)' }),
  cooldown_until: Type.Union([Timestamp, Type.Null()]),
  disabled_reason: Type.Union([Type.String(), Type.Null()])
})

const CozeAuth = Type.Object({
  mode: Type.String({ description: 'pat (personal access tokens) or oauth (OAuth JWT apps)' }),
  app_id: Type.Union([Type.String(), Type.Null()], { description: 'The OAuth app id (the first, with several apps)' }),
  session_isolation: Type.Boolean({ description: 'OAuth: each end user gets their own token (session_name)' }),
  strategy: Type.String({ description: 'How calls are spread over the credentials: round-robin or least-recently-limited' })
}, { description: 'How the gateway authenticates to Coze (never a token or key)' })

const ConfigData = Type.Object({
  api_base: Type.String(),
  default_bot_id: Type.Union([Type.String(), Type.Null()]),
  default_user_id: Type.Union([Type.String(), Type.Null()]),
  log_level: Type.String(),
  environment: Type.String(),
  version: Type.String(),
  upstream_mode: Type.String({ description: 'coze, or emulator in demo mode' }),
  coze_transport: Type.String({ description: 'COZE_TRANSPORT: undici (the lean transport of the chat, chatflow and workflow streams) or sdk (every Coze call through the @coze/api SDK)' }),
  coze_http2: Type.Boolean({ description: 'COZE_HTTP2 in effect: the lean transport\'s streams share HTTP/2 connections to Coze (false with COZE_TRANSPORT=sdk or behind HTTP(S)_PROXY, which stay HTTP/1.1)' }),
  token: Type.Object({ configured: Type.Boolean() }, { description: 'Only whether a token is set; never its value' }),
  coze_auth: CozeAuth,
  credentials: Type.Array(CredentialState, { description: 'Each Coze credential of the pool and its state' }),
  features: Type.Record(Type.String(), Type.Boolean()),
  rate_limit: Type.Object({ enabled: Type.Boolean(), requests: Type.Integer(), window_seconds: Type.Integer(), store: Type.Optional(Type.String({ description: 'memory, or redis (shared by every instance) with REDIS_URL' })) }),
  auth: Type.Optional(Type.Object({
    mode: Type.String({ description: 'none (no key needed: anyone who reaches the gateway can use it) or keys' }),
    keys: Type.Integer({ description: 'How many gateway keys are configured (never a key or its hash)' }),
    publishable_keys: Type.Integer(),
    allowed_bot_ids: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'ALLOWED_BOT_IDS; null: every bot' }),
    allowed_workflow_ids: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'ALLOWED_WORKFLOW_IDS; null: every workflow' }),
    account_routes: Type.Boolean()
  })),
  max_upload_mb: Type.Integer()
}, {
  additionalProperties: true,
  examples: [{ api_base: 'https://api.coze.cn', default_bot_id: '7537334510896185359', default_user_id: null, log_level: 'INFO', environment: 'production', version: '1.0.0', upstream_mode: 'coze', coze_transport: 'undici', coze_http2: false, token: { configured: true }, coze_auth: { mode: 'oauth', app_id: '1150000000001', session_isolation: true, strategy: 'round-robin' }, credentials: [{ index: 0, kind: 'oauth', app_id: '1150000000001', state: 'active', cooldown_until: null, disabled_reason: null }], features: { chat: true, streaming: true, file_upload: true, user_management: true, workspace_management: true }, rate_limit: { enabled: true, requests: 100, window_seconds: 60 }, max_upload_mb: 10 }]
})

const configRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/v1/config', {
    schema: { tags: ['system'], summary: 'Gateway configuration (never the token)', response: { 200: Envelope(ConfigData) } }
  }, async () => {
    const c = app.config
    const pool = app.coze.credentials
    return ok('Configuration retrieved successfully', {
      api_base: c.COZE_API_BASE,
      default_bot_id: c.COZE_BOT_ID || null,
      default_user_id: c.DEFAULT_USER_ID || null,
      log_level: c.LOG_LEVEL.toUpperCase(),
      environment: c.NODE_ENV,
      version: c.version,
      upstream_mode: c.upstreamMode,
      coze_transport: app.coze.transport,
      coze_http2: app.coze.http2,
      token: { configured: credentialsOf(c).length > 0 },
      coze_auth: {
        mode: pool.mode,
        app_id: pool.credentials[0]!.appId ?? null,
        session_isolation: pool.sessionIsolation,
        strategy: c.COZE_CREDENTIAL_STRATEGY
      },
      credentials: pool.snapshot().map((x) => ({ ...x, cooldown_until: x.cooldown_until === null ? null : new Date(x.cooldown_until).toISOString() })),
      features: {
        chat: true,
        streaming: true,
        file_upload: true,
        user_management: c.ACCOUNT_ROUTES,
        workspace_management: c.ACCOUNT_ROUTES,
        workflows: true,
        chatflows: true,
        audio: true,
        bots: c.ACCOUNT_ROUTES,
        tool_calls: true,
        multimodal: true,
        sessions: true,
        conversations: true,
        rate_limit: c.ENABLE_RATE_LIMIT,
        api_keys: app.access.keysEnabled,
        demo_mode: c.upstreamMode === 'emulator'
      },
      rate_limit: { enabled: c.ENABLE_RATE_LIMIT, requests: c.RATE_LIMIT_REQUESTS, window_seconds: c.RATE_LIMIT_WINDOW, store: app.limitRedis ? 'redis' : 'memory' },
      auth: { ...app.access.describe(), account_routes: c.ACCOUNT_ROUTES },
      max_upload_mb: c.MAX_UPLOAD_MB,
      sessions: { store: c.SESSION_STORE, ttl_seconds: c.SESSION_TTL, queue_timeout_ms: c.CHAT_QUEUE_TIMEOUT_MS }
    })
  })
}

export default configRoutes
