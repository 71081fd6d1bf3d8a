// TypeBox schemas of the OpenAI-compatible routes. Request objects accept unknown fields
// (OpenAI parameters Coze has no use for are taken and ignored); detailed content checks
// that need a precise `param` happen in request.ts.
import { Type, type Static } from 'typebox'
import { jsonOrStream } from '../schemas/common.js'
import { ChunkFrameSchema } from '../wires/openai.js'

/** Parameters accepted and ignored (Coze bots carry their own model settings and tools). Documented in the README. */
export const IGNORED_PARAMS = [
  'temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'n', 'stop', 'presence_penalty', 'frequency_penalty',
  'logit_bias', 'logprobs', 'top_logprobs', 'seed', 'tools', 'tool_choice', 'parallel_tool_calls', 'functions',
  'function_call', 'response_format', 'reasoning_effort', 'service_tier', 'store', 'metadata', 'modalities', 'audio',
  'prediction', 'web_search_options', 'verbosity', 'prompt_cache_key', 'safety_identifier'
] as const

const ContentPart = Type.Object({
  type: Type.String({ description: 'text, image_url (data: or http(s) URL, uploaded to Coze) or file (file_id or file_data)' })
}, { additionalProperties: true })

export const OpenAIMessageSchema = Type.Object({
  role: Type.Union(['system', 'developer', 'user', 'assistant', 'tool', 'function'].map((r) => Type.Literal(r)),
    { description: 'system/developer are mapped like /api/v1/chat maps system (Coze has no system role)' }),
  content: Type.Optional(Type.Union([Type.Array(ContentPart, { maxItems: 50 }), Type.String(), Type.Null()])),
  tool_call_id: Type.Optional(Type.String()),
  name: Type.Optional(Type.String())
}, { additionalProperties: true })

export const ChatCompletionBodySchema = Type.Object({
  model: Type.Optional(Type.String({ description: 'An alias from COZE_MODEL_MAP or a Coze bot id; default COZE_BOT_ID' })),
  messages: Type.Array(OpenAIMessageSchema, { minItems: 1, maxItems: 100 }),
  stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  stream_options: Type.Optional(Type.Union([Type.Null(), Type.Object({
    include_usage: Type.Optional(Type.Boolean({ description: 'A last chunk with usage and choices: []' }))
  }, { additionalProperties: true })])),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Becomes the Coze user_id (default DEFAULT_USER_ID, else "openai-user")' }))
}, {
  additionalProperties: true,
  description: `Other OpenAI parameters are accepted and ignored: ${IGNORED_PARAMS.join(', ')}.`,
  examples: [{ model: '7537334510896185359', messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: 'Hello' }] }]
})
export type ChatCompletionBody = Static<typeof ChatCompletionBodySchema>

export const OpenAIErrorSchema = Type.Object({
  error: Type.Object({
    message: Type.String(),
    type: Type.String({ description: 'invalid_request_error, rate_limit_error, upstream_auth_error, upstream_error, ...' }),
    param: Type.Union([Type.String(), Type.Null()]),
    code: Type.Union([Type.String(), Type.Null()], { description: 'model_not_found, rate_limit_exceeded, upstream_token_rejected, upstream_timeout, ...' }),
    coze_code: Type.Optional(Type.Integer()),
    logid: Type.Optional(Type.String())
  })
}, { description: 'OpenAI error format' })

const E = OpenAIErrorSchema
export const OpenAIErrors = { 400: E, 402: E, 404: E, 409: E, 413: E, 415: E, 429: E, 500: E, 502: E, 503: E, 504: E }

const Open = { additionalProperties: true }

const ChatCompletionSchema = Type.Object({
  id: Type.String({ description: 'chatcmpl-<Coze chat id>' }),
  object: Type.Literal('chat.completion'),
  created: Type.Integer(),
  model: Type.String(),
  choices: Type.Array(Type.Object({
    index: Type.Integer(),
    message: Type.Object({
      role: Type.Literal('assistant'),
      content: Type.Union([Type.String(), Type.Null()]),
      refusal: Type.Null()
    }, { ...Open, description: 'Also reasoning_content (reasoning bots) and tool_calls (finish_reason tool_calls)' }),
    logprobs: Type.Null(),
    finish_reason: Type.String({ description: 'stop or tool_calls' })
  }, Open)),
  usage: Type.Object({ prompt_tokens: Type.Integer(), completion_tokens: Type.Integer(), total_tokens: Type.Integer() }, Open)
}, {
  ...Open,
  description: 'chat.completion',
  examples: [{
    id: 'chatcmpl-7400000000000000002',
    object: 'chat.completion',
    created: 1736937000,
    model: '7537334510896185359',
    choices: [{ index: 0, message: { role: 'assistant', content: '你好！有什么可以帮你？', refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 }
  }]
})

export const ChatCompletionResponses = {
  200: jsonOrStream(ChatCompletionSchema, ChunkFrameSchema,
    'Non-stream: a chat.completion (application/json). With "stream": true: text/event-stream of chat.completion.chunk frames, then data: [DONE].'),
  ...OpenAIErrors
}

export const ModelSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('model'),
  created: Type.Integer(),
  owned_by: Type.String(),
  bot_id: Type.Optional(Type.String({ description: 'The Coze bot behind the model (for a chatflow in the library: its bot)' })),
  workflow_id: Type.Optional(Type.String({ description: 'The chatflow behind the model, for a chatflow alias of COZE_MODEL_MAP' })),
  app_id: Type.Optional(Type.String({ description: 'The app of that chatflow' })),
  name: Type.Optional(Type.String({ description: 'The bot name in Coze (cached)' })),
  description: Type.Optional(Type.String())
}, { examples: [{ id: 'coze-default', object: 'model', created: 1736937000, owned_by: 'coze', bot_id: '7537334510896185359', name: 'Demo bot' }] })

export const ModelListSchema = Type.Object({ object: Type.Literal('list'), data: Type.Array(ModelSchema) },
  { examples: [{ object: 'list', data: [{ id: 'coze-default', object: 'model', created: 1736937000, owned_by: 'coze', bot_id: '7537334510896185359' }] }] })
