// Schemas of the session and conversation APIs.
import { Type } from 'typebox'
import { PageNum, PageSize, Timestamp } from './common.js'
import { SESSION_ID_PATTERN } from './ids.js'

export const SESSION_ID = Type.String({ pattern: SESSION_ID_PATTERN, description: 'Letters of any script, digits, _ . : @ -; up to 128 characters' })
export const USER_ID = Type.String({ minLength: 1, maxLength: 256, description: 'Your end user\'s id' })

export const OwnerQuery = Type.Object({
  user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'The user asking (default DEFAULT_USER_ID): it must be the owner, else 404, exactly as for an unknown id. With gateway keys, the key must be the owner\'s too.' }))
})

export const SessionParams = Type.Object({ session_id: SESSION_ID })

export const SessionSchema = Type.Object({
  session_id: Type.String(),
  user_id: Type.String(),
  bot_id: Type.Union([Type.String(), Type.Null()], { description: 'The bot of the session; null for a chatflow session' }),
  workflow_id: Type.Optional(Type.String({ description: 'The chatflow of a chatflow session (POST /api/v1/workflows/{workflow_id}/chat)' })),
  conversation_id: Type.Union([Type.String(), Type.Null()], { description: 'The Coze conversation; null until the first chat' }),
  created_at: Timestamp,
  last_activity: Timestamp,
  message_count: Type.Integer({ description: 'Chat turns completed since the session began or was last cleared' }),
  status: Type.String({ description: 'active' }),
  cleared_at: Type.Union([Timestamp, Type.Null()], { description: 'When the session was last cleared' }),
  expires_at: Timestamp
}, {
  description: 'A server-side chat session bound to one Coze conversation',
  examples: [{ session_id: 'demo_session_1', user_id: 'user123', bot_id: '7537334510896185359', conversation_id: '7400000000000000001', created_at: '2025-01-15T10:30:00.000Z', last_activity: '2025-01-15T10:30:15.123Z', message_count: 5, status: 'active', cleared_at: null, expires_at: '2025-01-15T11:00:15.123Z' }]
})

export const CreateSessionBody = Type.Object({
  user_id: Type.Optional(USER_ID),
  bot_id: Type.Optional(Type.String({ minLength: 1, description: 'Defaults to COZE_BOT_ID' }))
})

export const Pagination = Type.Object({
  page_num: Type.Integer(),
  page_size: Type.Integer(),
  total_count: Type.Integer(),
  has_more: Type.Boolean()
})

export const PageQuery = {
  page_num: PageNum(),
  page_size: PageSize(100)
}

export const ConversationSchema = Type.Object({
  id: Type.String(),
  conversation_id: Type.String({ description: 'Same as id' }),
  bot_id: Type.Optional(Type.String()),
  user_id: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'The owner recorded by the gateway, null when unknown' })),
  key_id: Type.Optional(Type.String({ description: 'The gateway key the owner belongs to (in everyone\'s listing, with keys on)' })),
  created_at: Type.Union([Timestamp, Type.Null()], { description: 'ISO 8601 (Coze\'s creation time)' }),
  meta_data: Type.Record(Type.String(), Type.String()),
  last_section_id: Type.Optional(Type.String())
}, { examples: [{ id: '7400000000000000001', conversation_id: '7400000000000000001', bot_id: '7537334510896185359', user_id: 'user123', created_at: '2025-01-15T10:30:00.000Z', meta_data: {}, last_section_id: '7400000000000000002' }] })

export const CreateConversationBody = Type.Object({
  bot_id: Type.Optional(Type.String({ minLength: 1, description: 'Defaults to COZE_BOT_ID' })),
  user_id: Type.Optional(USER_ID),
  messages: Type.Optional(Type.Array(Type.Object({
    role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
    content: Type.String({ minLength: 1 })
  }), { maxItems: 100, description: 'Context to start the conversation with' })),
  meta_data: Type.Optional(Type.Record(Type.String(), Type.String(), { maxProperties: 16 }))
})

export const MessageSchema = Type.Object({
  id: Type.String(),
  conversation_id: Type.String(),
  chat_id: Type.String(),
  bot_id: Type.String(),
  role: Type.String({ description: 'user or assistant' }),
  type: Type.String({ description: 'question, answer, function_call, tool_output, tool_response, follow_up, verbose' }),
  content: Type.String(),
  content_type: Type.String({ description: 'text, object_string, card' }),
  created_at: Type.Union([Timestamp, Type.Null()], { description: 'ISO 8601' }),
  section_id: Type.Union([Type.String(), Type.Null()], { description: 'Changes at each clear' })
}, { examples: [{ id: '7400000000000000010', conversation_id: '7400000000000000001', chat_id: '7400000000000000009', bot_id: '7537334510896185359', role: 'assistant', type: 'answer', content: '你好！', content_type: 'text', created_at: '2025-01-15T10:30:15.000Z', section_id: '7400000000000000002' }] })
