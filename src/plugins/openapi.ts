// What the OpenAPI document says beyond the route schemas, so Swagger UI and client
// generators get a clean document: an operationId per operation, a multipart request
// body for uploads, the security scheme, an example per error status in the surface's
// own error format, and a 200 example that is what the gateway sends (never Swagger
// UI's `additionalProp1`). `redocly lint` (recommended rules) runs on the result in
// test/app/openapi.test.ts.
import type { TSchema } from 'typebox'
import type { RouteOptions } from 'fastify'
import { errors, GatewayError } from '../errors.js'
import { fromCozeCode, toGatewayError } from '../coze/errors.js'
import { ModelNotFoundError } from '../openai/errors.js'
import type { Surface } from '../chat/types.js'
import * as api from '../wires/api.js'
import * as chatbot from '../wires/chatbot.js'
import * as openai from '../wires/openai.js'
import { isPublicRoute } from '../public-routes.js'

declare module 'fastify' {
  interface FastifySchema {
    /** The multipart/form-data fields, for the OpenAPI document only: the route reads the stream itself. */
    multipartForm?: TSchema
  }
}

type Json = Record<string, any>

/** The scheme of the gateway API keys (optional until keys are configured: see the root `security`). */
export const SECURITY_SCHEME = 'bearerAuth'

/** Clean names for client generators; a route missing here gets one made from its method and path. */
const OPERATION_IDS: Record<string, string> = {
  'GET /health': 'getHealth',
  'GET /': 'getStatus',
  'GET /api/v1/config': 'getConfig',
  'GET /api/v1/user/info': 'getUserInfo',
  'GET /api/v1/workspaces': 'listWorkspaces',
  'GET /api/v1/test/connection': 'testConnection',
  'POST /api/v1/chat': 'chat',
  'POST /api/v1/upload': 'uploadFile',
  'POST /api/v1/sessions': 'createSession',
  'GET /api/v1/sessions': 'listSessions',
  'GET /api/v1/sessions/:session_id': 'getSession',
  'DELETE /api/v1/sessions/:session_id': 'deleteSession',
  'POST /api/v1/sessions/:session_id/clear': 'clearSession',
  'POST /api/v1/conversations': 'createConversation',
  'GET /api/v1/conversations': 'listConversations',
  'GET /api/v1/conversations/:conversation_id/messages': 'listConversationMessages',
  'POST /api/v1/chat/tool-outputs': 'submitToolOutputs',
  'POST /api/v1/chat/cancel': 'cancelChat',
  'POST /api/v1/workflows/:workflow_id/run': 'runWorkflow',
  'GET /api/v1/workflows/:workflow_id/runs/:execute_id': 'getWorkflowRun',
  'POST /api/v1/workflows/:workflow_id/resume': 'resumeWorkflow',
  'POST /api/v1/workflows/:workflow_id/execute': 'executeWorkflow',
  'POST /api/v1/workflows/:workflow_id/chat': 'chatflowChat',
  'POST /api/v1/audio/speech': 'createSpeech',
  'POST /api/v1/audio/transcriptions': 'createTranscription',
  'GET /api/v1/audio/voices': 'listVoices',
  'POST /v1/audio/speech': 'createOpenAISpeech',
  'POST /v1/audio/transcriptions': 'createOpenAITranscription',
  'GET /api/v1/bots': 'listBots',
  'GET /api/v1/bots/:bot_id': 'getBot',
  'POST /chat': 'simpleChat',
  'POST /chat/stream': 'simpleChatStream',
  'GET /session/:session_id/info': 'simpleGetSessionInfo',
  'POST /session/:session_id/clear': 'simpleClearSession',
  'POST /v1/chat/completions': 'createChatCompletion',
  'GET /v1/models': 'listModels',
  'GET /v1/models/:model': 'retrieveModel'
}

export function operationId (method: string, url: string): string {
  const known = OPERATION_IDS[`${method} ${url}`]
  if (known) return known
  const words = url.split('/').filter((seg) => seg && seg !== 'api' && !/^v\d+$/.test(seg))
    .map((seg) => seg.startsWith(':') ? `by-${seg.slice(1)}` : seg)
    .flatMap((seg) => seg.split(/[^A-Za-z0-9]+/)).filter(Boolean)
  return [method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('')
}

/** @fastify/swagger `transform`: per route, before the route schema becomes an operation. */
export function transformRoute ({ schema, url, route }: { schema: Json | undefined, url: string, route: RouteOptions }) {
  const method = Array.isArray(route.method) ? String(route.method[0]) : String(route.method)
  const { multipartForm, ...rest } = (schema ?? {}) as Json
  const s: Json = { ...rest, operationId: rest.operationId ?? operationId(method, url), 'x-surface': route.config?.surface ?? 'api' }
  if (multipartForm) s.body = { content: { 'multipart/form-data': { schema: multipartForm } } }
  if (isPublicRoute(url)) s.security = []
  // Every other route is behind the rate limiter, so it can answer 429.
  else if (s.response && !s.response[429]) s.response = { ...s.response, 429: { $ref: 'ErrorEnvelope' } }
  return { schema: s, url }
}

// ---------------------------------------------------------------------------------------
// Error examples: one sample error per status, rendered by the surface's own wire.

const LOGID = '20250101120000A1B2C3D4E5F6A7B8C9'

/** Documentation samples; 401 and 403 are those of the gateway API keys. */
const SAMPLE_ERRORS: Record<number, GatewayError> = {
  400: errors.invalid('Invalid request: body must have required property \'messages\'',
    [{ field: 'body', message: 'must have required property \'messages\'', params: { missingProperty: 'messages' } }]),
  401: new GatewayError(401, 'UNAUTHORIZED', 'Missing or unknown API key: send it as Authorization: Bearer <key> or x-api-key.'),
  402: fromCozeCode(4019, '', LOGID),
  403: new GatewayError(403, 'FORBIDDEN', 'This API key may not use bot 7537334510896185359.'),
  404: errors.sessionNotFound('my_session'),
  409: errors.conversationBusy(30_000),
  413: errors.fileTooLarge(10),
  415: errors.multipartRequired(),
  429: errors.rateLimited('Rate limit exceeded: 100 requests per 60 s. Retry in 1 minute.'),
  500: errors.internal(),
  502: fromCozeCode(4100, '', LOGID),
  503: toGatewayError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' })),
  504: errors.connectTimeout(30_000, LOGID)
}

const SURFACE_SAMPLES: Partial<Record<Surface, Record<number, GatewayError>>> = {
  openai: {
    404: new ModelNotFoundError('gpt-4o'),
    413: errors.payloadTooLarge('Request body too large.'),
    415: errors.unsupportedMediaType('Unsupported Content-Type: send application/json (or multipart/form-data for uploads).')
  }
}

/** What each status means, with the gateway codes it carries. */
const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request: VALIDATION_ERROR (the message names the field), INVALID_JSON, UPSTREAM_BAD_REQUEST (Coze refused a parameter)',
  401: 'UNAUTHORIZED: no API key, or an unknown, expired or disabled one',
  402: 'QUOTA_EXCEEDED (no Coze quota left), PREMIUM_REQUIRED (needs a paid Coze plan)',
  403: 'FORBIDDEN: the API key may not do this',
  404: 'NOT_FOUND (unknown, expired or another user\'s session or conversation), UPSTREAM_NOT_FOUND (Coze does not know the bot or workflow, or it is not published)',
  409: 'CONVERSATION_BUSY (another chat on the conversation is still running), CHAT_NOT_CANCELABLE, CONFLICT',
  413: 'PAYLOAD_TOO_LARGE: body or file over the limit (BODY_LIMIT_KB, MAX_UPLOAD_MB)',
  415: 'UNSUPPORTED_MEDIA_TYPE: wrong Content-Type',
  429: 'RATE_LIMITED (this gateway: see Retry-After), UPSTREAM_RATE_LIMITED (Coze)',
  500: 'INTERNAL_ERROR',
  502: 'UPSTREAM_AUTH (Coze rejected the gateway\'s token), UPSTREAM_ERROR, UPSTREAM_TRUNCATED',
  503: 'UPSTREAM_UNAVAILABLE (Coze unreachable), SESSION_STORE_UNAVAILABLE, SHUTTING_DOWN',
  504: 'UPSTREAM_TIMEOUT: Coze did not answer in time'
}

function errorExample (surface: Surface, status: number): unknown {
  const e = SURFACE_SAMPLES[surface]?.[status] ?? SAMPLE_ERRORS[status]
  if (!e) return undefined
  if (surface === 'openai') return openai.errorBody(e)
  if (surface === 'chatbot') return chatbot.errorBody(e)
  return api.errorBody(e)
}

// ---------------------------------------------------------------------------------------
// 200 examples, made from the schema where the route gives none.

const FORMAT_SAMPLES: Record<string, string> = {
  'date-time': '2025-01-01T12:00:00.000Z',
  date: '2025-01-01',
  uri: 'https://www.coze.cn',
  email: 'user@example.com'
}

function resolve (doc: Json, schema: Json): Json {
  let s = schema
  for (let i = 0; s?.$ref && i < 10; i++) s = doc.components?.schemas?.[String(s.$ref).split('/').pop()!] ?? {}
  return s ?? {}
}

const sameKind = (a: unknown, b: unknown) => (a === null) === (b === null) && typeof a === typeof b

const isNullOnly = (s: Json) => Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null

function sample (doc: Json, schema: Json, depth = 0): unknown {
  const s = resolve(doc, schema)
  if (depth > 12) return null
  if (s.example !== undefined) return s.example
  if (s.default !== undefined) return s.default
  if (Array.isArray(s.enum)) return s.enum[0]
  const alternatives = (s.anyOf ?? s.oneOf) as Json[] | undefined
  if (alternatives) return sample(doc, alternatives.find((m) => !isNullOnly(resolve(doc, m))) ?? alternatives[0]!, depth + 1)
  if (s.allOf) return Object.assign({}, ...(s.allOf as Json[]).map((m) => sample(doc, m, depth + 1)))
  if (s.type === 'object' || s.properties) {
    const props = (s.properties ?? {}) as Record<string, Json>
    const out: Json = {}
    // The envelope's top-level extras repeat fields of `data`: take the same values.
    const data = props.data && props.success ? sample(doc, props.data, depth + 1) as Json : undefined
    for (const [k, v] of Object.entries(props)) {
      const own = sample(doc, v, depth + 1)
      if (k === 'data' && data !== undefined) out[k] = data
      else if (data && typeof data === 'object' && k in data && sameKind(data[k], own)) out[k] = data[k]
      else out[k] = own
    }
    if (data !== undefined && out.message === 'string') out.message = 'OK'
    return out
  }
  switch (s.type) {
    case 'array': return s.items ? [sample(doc, s.items, depth + 1)] : []
    case 'string': return FORMAT_SAMPLES[s.format] ?? 'string'
    case 'integer': case 'number': return s.minimum ?? 0
    case 'boolean': return true
    default: return null
  }
}

// ---------------------------------------------------------------------------------------

/** Every Schema Object of the document (not the example values), depth first. */
function forEachSchema (schema: unknown, fn: (s: Json) => void): void {
  if (!schema || typeof schema !== 'object') return
  const s = schema as Json
  fn(s)
  for (const p of Object.values(s.properties ?? {})) forEachSchema(p, fn)
  for (const key of ['anyOf', 'oneOf', 'allOf']) for (const m of s[key] ?? []) forEachSchema(m, fn)
  for (const key of ['items', 'not', 'additionalProperties']) forEachSchema(s[key], fn)
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

/** @fastify/swagger `transformObject`: the finished document, fixed up as said at the top. */
export function finishDocument<T extends object> (input: T): T {
  const doc = structuredClone(input) as Json
  const schemas: unknown[] = Object.values(doc.components?.schemas ?? {})
  const operations: Json[] = []
  for (const item of Object.values(doc.paths ?? {}) as Json[]) {
    for (const m of METHODS) if (item[m]) operations.push(item[m])
  }
  for (const op of operations) {
    for (const p of op.parameters ?? []) schemas.push(p.schema)
    for (const media of Object.values(op.requestBody?.content ?? {}) as Json[]) schemas.push(media.schema)
    for (const r of Object.values(op.responses ?? {}) as Json[]) for (const media of Object.values(r.content ?? {}) as Json[]) schemas.push(media.schema)
  }
  for (const root of schemas) {
    forEachSchema(root, (s) => {
      // OpenAPI 3.0 Schema Objects have `example`, not `examples`.
      if (Array.isArray(s.examples)) { s.example ??= s.examples[0]; delete s.examples }
      // `true` is the default; spelled out next to properties, it makes Swagger UI invent
      // `additionalProp1`. (A free-form object keeps it: linters read its absence as false.)
      if (s.additionalProperties === true && s.properties) delete s.additionalProperties
    })
  }

  for (const op of operations) {
    const surface = (op['x-surface'] ?? 'api') as Surface
    delete op['x-surface']
    for (const [code, r] of Object.entries(op.responses ?? {}) as Array<[string, Json]>) {
      const status = Number(code)
      const json = r.content?.['application/json'] as Json | undefined
      if (!json) continue
      if (status >= 400) {
        // (a route may give its own, as /ready does for its 503)
        const example = json.example === undefined ? errorExample(surface, status) : undefined
        if (example !== undefined) json.example = example
        if (STATUS_TEXT[status]) r.description = STATUS_TEXT[status]
      } else if (json.example === undefined && json.examples === undefined) {
        json.example = sample(doc, json.schema)
      }
    }
  }
  return doc as T
}
