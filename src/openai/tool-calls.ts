// Tool calls across stateless OpenAI requests. Coze keeps a chat that asked for a tool
// waiting (requires_action) and wants the outputs on that chat; an OpenAI client only
// sends back the tool_call ids it was given. So the id handed out carries the Coze
// conversation and chat: `call_<base64url of [conversation_id, chat_id, coze tool_call id]>`.
import type { ToolCall } from '../coze/chat.js'

const PREFIX = 'call_'

export interface CozeToolCallRef {
  conversation_id: string
  chat_id: string
  tool_call_id: string
}

export function encodeToolCallId (ref: CozeToolCallRef): string {
  return PREFIX + Buffer.from(JSON.stringify([ref.conversation_id, ref.chat_id, ref.tool_call_id])).toString('base64url')
}

/** undefined when the id was not issued by this gateway. */
export function decodeToolCallId (id: string): CozeToolCallRef | undefined {
  if (!id.startsWith(PREFIX)) return undefined
  try {
    const v: unknown = JSON.parse(Buffer.from(id.slice(PREFIX.length), 'base64url').toString('utf8'))
    if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'string' && x.length > 0)) {
      return { conversation_id: v[0] as string, chat_id: v[1] as string, tool_call_id: v[2] as string }
    }
  } catch { /* not ours */ }
  return undefined
}

export interface OpenAIToolCall {
  id: string
  type: 'function'
  function: { name: string, arguments: string }
}

export function toOpenAIToolCalls (ids: { conversation_id: string, chat_id: string }, calls: ToolCall[]): OpenAIToolCall[] {
  return calls.map((c) => ({
    id: encodeToolCallId({ ...ids, tool_call_id: c.id }),
    type: 'function',
    function: { name: c.name, arguments: c.arguments || '{}' }
  }))
}
