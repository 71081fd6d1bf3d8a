import { Type, type Static } from 'typebox'
import { Envelope, Timestamp, UpstreamErrors, Usage, jsonOrStream } from './common.js'
import { ChatFrameSchema } from '../wires/api.js'
import { COZE_ID_PATTERN, SESSION_ID_PATTERN } from './ids.js'

export const ContentPartSchema = Type.Object({
  type: Type.Union([Type.Literal('text'), Type.Literal('image'), Type.Literal('file'), Type.Literal('audio')]),
  text: Type.Optional(Type.String()),
  file_id: Type.Optional(Type.String({ minLength: 1, description: 'An id from POST /api/v1/upload' })),
  file_url: Type.Optional(Type.String({ minLength: 1 }))
}, { additionalProperties: false })

export const ChatMessageSchema = Type.Object({
  role: Type.Union([Type.Literal('user'), Type.Literal('assistant'), Type.Literal('system')], { description: 'system messages are mapped: see the README "System messages"' }),
  // JSON bodies are not coerced (src/validation.ts), so the order of the union is free.
  content: Type.Union([
    Type.Array(ContentPartSchema, { minItems: 1, maxItems: 50, description: 'Multimodal parts, sent to Coze as object_string' }),
    Type.String({ minLength: 1 })
  ]),
  content_type: Type.Optional(Type.String({ description: 'text (default) or object_string' }))
})

const StringMap = (description: string, maxProperties = 64) => Type.Record(Type.String(), Type.String(), { description, maxProperties })

export const ChatBodySchema = Type.Object({
  bot_id: Type.Optional(Type.String({ minLength: 1, description: 'Defaults to COZE_BOT_ID' })),
  user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Your end user\'s id; required unless DEFAULT_USER_ID is set' })),
  messages: Type.Array(ChatMessageSchema, { minItems: 1, maxItems: 100 }),
  conversation_id: Type.Optional(Type.String({ pattern: COZE_ID_PATTERN, description: 'Continue a Coze conversation: only the new user turn is sent, Coze holds the history (letters, digits, _ and -)' })),
  session_id: Type.Optional(Type.String({ pattern: SESSION_ID_PATTERN, description: 'A server-side session (letters of any script, digits, _ . : @ -; up to 128): created on first use with its own Coze conversation, which later turns continue. Chats on one session run one at a time, in order. See /api/v1/sessions' })),
  stream: Type.Optional(Type.Boolean({ default: false })),
  custom_variables: Type.Optional(StringMap('Bot prompt variables')),
  meta_data: Type.Optional(StringMap('Up to 16 key/value pairs stored with the chat', 16)),
  auto_save_history: Type.Optional(Type.Boolean({ description: 'Default true' }))
}, {
  examples: [{ bot_id: '7537334510896185359', user_id: 'user123', messages: [{ role: 'user', content: '你好，请介绍一下自己' }], stream: false }]
})
export type ChatBody = Static<typeof ChatBodySchema>

const ToolCallSchema = Type.Object({ id: Type.String(), type: Type.String(), name: Type.String(), arguments: Type.String({ description: 'JSON string' }) })

export const ChatDataSchema = Type.Object({
  status: Type.String({ description: 'completed, or requires_action when the bot waits for tool outputs' }),
  content: Type.String(),
  conversation_id: Type.String(),
  chat_id: Type.String(),
  bot_id: Type.String(),
  user_id: Type.String(),
  usage: Usage,
  timestamp: Timestamp,
  reasoning_content: Type.Optional(Type.String()),
  follow_ups: Type.Optional(Type.Array(Type.String())),
  tool_calls: Type.Optional(Type.Array(ToolCallSchema)),
  session_id: Type.Optional(Type.String({ description: 'The session of the chat, when the request named one' }))
}, {
  additionalProperties: true,
  examples: [{ status: 'completed', content: '你好！我是一个基于Coze平台的智能助手…', conversation_id: '7400000000000000001', chat_id: '7400000000000000002', bot_id: '7537334510896185359', user_id: 'user123', usage: { token_count: 42, output_count: 12, input_count: 30 }, timestamp: '2025-01-01T12:00:00.000Z' }]
})

export const ChatResponses = {
  200: jsonOrStream(Envelope(ChatDataSchema, { conversation_id: Type.String(), session_id: Type.Optional(Type.String()) }), ChatFrameSchema,
    'Non-stream: the aggregated answer (application/json). With "stream": true: text/event-stream, one frame per Coze delta, then chat_completed (or error) and end.'),
  ...UpstreamErrors
}

export const SSE_FRAMES_DOC = `### Server-Sent Events (\`"stream": true\`)

\`Content-Type: text/event-stream\`. Each frame is one line \`data: <json>\` and a blank line; lines starting with \`:\` are heartbeats.

| type | fields |
|---|---|
| \`message_delta\` | \`content\`, \`timestamp\`: one per Coze delta |
| \`reasoning_delta\` | \`content\`, \`timestamp\`: reasoning text of deep-thinking bots |
| \`follow_up\` | \`content\`, \`timestamp\`: a suggested next question |
| \`tool_calls\` | \`conversation_id\`, \`chat_id\`, \`tool_calls[{id,type,name,arguments}]\`: the bot waits for POST /api/v1/chat/tool-outputs |
| \`chat_completed\` | \`conversation_id\`, \`chat_id\`, \`usage\`, \`timestamp\`, \`session_id\` (when the request named one) |
| \`error\` | \`message\`, \`code\`, \`status\`, \`coze_code?\`, \`logid?\`: the stream failed; no chat_completed follows |
| \`end\` | always last |

Errors before the first frame are ordinary JSON envelopes with the HTTP status.`
