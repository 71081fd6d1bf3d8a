// Schemas of the simple chat API (the chatbot service's /chat, /chat/stream, /session/{id}/…).
// Its own shapes: no envelope, and errors as {"detail": "..."}.
import { Type, type Static } from 'typebox'
import { SESSION_ID, USER_ID } from './sessions.js'

export const SIMPLE_CHAT_TAG = 'chatbot-service'

export const SIMPLE_CHAT_DOC = 'The simple chat API of the chatbot service, for clients built against it: ' +
  '`POST /chat`, `POST /chat/stream`, `GET /session/{session_id}/info`, `POST /session/{session_id}/clear`. ' +
  'It runs on the same sessions as /api/v1 (same store, same queue per conversation, same ownership). ' +
  '**Deviation from the rest of this API:** answers are not wrapped in the `{success, message, data}` envelope, and errors are ' +
  '`{"detail": "<what went wrong>"}` with the HTTP status (400 bad input, 404 unknown session, 409 queue wait exceeded, 5xx upstream). ' +
  'user_id is optional everywhere: without it a request acts as DEFAULT_USER_ID, else "anonymous". ' +
  'A session is visible only to its own user: a request as another user, or without the user_id of a session made with one, gets 404. Streams: `data: {"type":"chunk","data":{"content","chunk_index"}}` per delta, ' +
  'then `{"type":"complete","data":{"total_chunks","full_content","session_id","conversation_id","message_id"}}`, or `{"type":"error","data":{"message"}}`.'

// null and "" mean "not given" (the chatbot service's Python client sends None).
const Nullable = <T extends Parameters<typeof Type.Optional>[0]>(t: T) => Type.Optional(Type.Union([t, Type.Literal(''), Type.Null()]))

export const SimpleChatBody = Type.Object({
  message: Type.String({ minLength: 1, maxLength: 100_000, description: 'The user\'s message' }),
  session_id: Nullable(SESSION_ID),
  user_id: Nullable(USER_ID),
  bot_id: Nullable(Type.String({ minLength: 1, description: 'Defaults to COZE_BOT_ID (an extension of this gateway)' }))
}, { examples: [{ message: '你好，我想聊聊最近的心情', session_id: 'my_session' }] })
export type SimpleChatBody = Static<typeof SimpleChatBody>

export const SimpleChatReply = Type.Object({
  response: Type.String(),
  session_id: Type.String(),
  message_id: Type.String({ description: 'The Coze chat id of this turn' }),
  timestamp: Type.String({ format: 'date-time' }),
  conversation_id: Type.String()
})

export const SimpleSessionInfo = Type.Object({
  session_id: Type.String(),
  user_id: Type.String(),
  conversation_id: Type.Union([Type.String(), Type.Null()]),
  last_activity: Type.String({ format: 'date-time' }),
  message_count: Type.Integer(),
  status: Type.String()
}, { examples: [{ session_id: 'demo_session_1', user_id: 'user123', conversation_id: 'conv_789xyz', last_activity: '2024-01-15T10:30:15.123Z', message_count: 5, status: 'active' }] })

export const SimpleClearReply = Type.Object({
  message: Type.String(),
  session_id: Type.String(),
  cleared_at: Type.String({ format: 'date-time' })
}, { examples: [{ message: 'Session cleared', session_id: 'demo_session_1', cleared_at: '2024-01-15T10:35:00.123Z' }] })

export const Detail = Type.Object({ detail: Type.String() }, { description: 'Error: {"detail": "..."}' })

export const SimpleErrors = {
  400: Detail,
  404: Detail,
  409: Detail,
  429: Detail,
  500: Detail,
  502: Detail,
  503: Detail,
  504: Detail
}

export const SimpleUserQuery = Type.Object({
  user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'The session\'s user (default DEFAULT_USER_ID, else "anonymous"); another user: 404' }))
})
