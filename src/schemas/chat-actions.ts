import { Type, type Static } from 'typebox'
import { Envelope, Timestamp, UpstreamErrors, jsonOrStream } from './common.js'
import { ChatFrameSchema } from '../wires/api.js'
import { ChatDataSchema } from './chat.js'
import { CozeId } from './ids.js'

const ChatIds = {
  conversation_id: CozeId('The conversation_id of the chat'),
  chat_id: CozeId('The chat_id of the chat'),
  user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'When given, must be the user the conversation belongs to (else 404, as for an unknown chat)' }))
}

export const ToolOutputsBodySchema = Type.Object({
  ...ChatIds,
  tool_outputs: Type.Array(Type.Object({
    tool_call_id: Type.String({ minLength: 1, description: 'The id of a tool call from the tool_calls frame or field' }),
    output: Type.String({ description: 'What the tool returned, as a string (JSON.stringify objects)' })
  }), { minItems: 1, maxItems: 64, description: 'One output per tool call' }),
  stream: Type.Optional(Type.Boolean({ default: false, description: 'Answer with SSE (the frames of POST /api/v1/chat)' }))
}, {
  examples: [{ conversation_id: '7400000000000000001', chat_id: '7400000000000000002', tool_outputs: [{ tool_call_id: '7400000000000000003', output: '{"temperature": 21}' }], stream: false }]
})
export type ToolOutputsBody = Static<typeof ToolOutputsBodySchema>

export const CancelBodySchema = Type.Object(ChatIds, {
  examples: [{ conversation_id: '7400000000000000001', chat_id: '7400000000000000002' }]
})
export type CancelBody = Static<typeof CancelBodySchema>

// The answer of POST /api/v1/chat, without the fields only a new chat has.
const ToolOutputsData = Type.Omit(ChatDataSchema, ['bot_id', 'user_id', 'session_id'], { additionalProperties: true })

const CancelData = Type.Object({
  conversation_id: Type.String(),
  chat_id: Type.String(),
  status: Type.String({ description: 'The chat\'s final status: canceled' }),
  bot_id: Type.Optional(Type.String()),
  created_at: Type.Optional(Type.Union([Timestamp, Type.Null()], { description: 'ISO 8601: when the chat was created' })),
  timestamp: Timestamp
})

export const ToolOutputsResponses = {
  200: jsonOrStream(Envelope(ToolOutputsData, { conversation_id: Type.String() }), ChatFrameSchema,
    'Non-stream: the aggregated answer (application/json). With "stream": true: text/event-stream with the frames of POST /api/v1/chat.'),
  ...UpstreamErrors
}

export const CancelResponses = { 200: Envelope(CancelData), ...UpstreamErrors }
