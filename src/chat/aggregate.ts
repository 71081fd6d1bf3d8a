import type { ChatEvent, ChatResult } from './types.js'

/** Drains a chat into one answer. The service only ends normally after a terminal event. */
export async function aggregateChat (events: AsyncIterable<ChatEvent>): Promise<ChatResult> {
  let content = ''
  let reasoning = ''
  const followUps: string[] = []
  let result: ChatResult | undefined
  for await (const ev of events) {
    switch (ev.type) {
      case 'message_delta': content += ev.content; break
      case 'reasoning_delta': reasoning += ev.content; break
      case 'follow_up': followUps.push(ev.content); break
      case 'chat_completed':
        result = { status: 'completed', content, conversation_id: ev.conversation_id, chat_id: ev.chat_id, usage: ev.usage, turn: ev.turn }
        if (ev.debug_url !== undefined) result.debug_url = ev.debug_url
        break
      case 'tool_calls':
        result = { status: 'requires_action', content, conversation_id: ev.conversation_id, chat_id: ev.chat_id, usage: ev.usage, tool_calls: ev.tool_calls, turn: ev.turn }
        break
      default: break
    }
  }
  const r = result!
  r.content = content
  if (reasoning) r.reasoning_content = reasoning
  if (followUps.length) r.follow_ups = followUps
  return r
}
