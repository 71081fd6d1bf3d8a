// Gateway chat results → OpenAI `chat.completion` and `chat.completion.chunk` objects.
// The stream wire holds the finish chunk until the pipeline has seen Coze's `done`, so
// a stream that fails after `chat.completed` ends with an error object, never `stop`.
import { randomBytes } from 'node:crypto'
import type { ChatEvent, ChatResult, Usage } from '../coze/chat.js'
import type { SseWire } from '../routes/sse-relay.js'
import { toOpenAIError } from './errors.js'
import { toOpenAIToolCalls, type OpenAIToolCall } from './tool-calls.js'

export interface OpenAIUsage { prompt_tokens: number, completion_tokens: number, total_tokens: number }

export interface CompletionMeta {
  model: string
  /** Unix seconds of the request */
  created: number
}

export function toOpenAIUsage (u: Usage): OpenAIUsage {
  return { prompt_tokens: u.input_count, completion_tokens: u.output_count, total_tokens: u.token_count }
}

/** `chatcmpl-<Coze chat id>`, so a completion can be traced in Coze. */
export function completionId (chatId?: string): string {
  return `chatcmpl-${chatId || randomBytes(12).toString('hex')}`
}

export function toCompletion (meta: CompletionMeta, r: ChatResult) {
  const toolCalls = r.tool_calls ? toOpenAIToolCalls(r, r.tool_calls) : undefined
  return {
    id: completionId(r.chat_id),
    object: 'chat.completion' as const,
    created: meta.created,
    model: meta.model,
    choices: [{
      index: 0,
      message: {
        role: 'assistant' as const,
        content: toolCalls && !r.content ? null : r.content,
        refusal: null,
        ...(r.reasoning_content ? { reasoning_content: r.reasoning_content } : {}),
        ...(toolCalls ? { tool_calls: toolCalls } : {})
      },
      logprobs: null,
      finish_reason: toolCalls ? 'tool_calls' as const : 'stop' as const
    }],
    usage: toOpenAIUsage(r.usage)
  }
}

type Finish = { reason: 'stop' } | { reason: 'tool_calls', toolCalls: OpenAIToolCall[] }

/** The SSE wire of one streamed completion (stateful: make one per request). */
export function completionWire (meta: CompletionMeta & { includeUsage: boolean }): SseWire<ChatEvent> {
  let id: string | undefined
  let roleSent = false
  let finish: Finish | undefined
  let usage: Usage | undefined
  let failed = false

  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => {
    id ??= completionId()
    const withRole = roleSent ? delta : { role: 'assistant', ...delta }
    roleSent = true
    return {
      id,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
      choices: [{ index: 0, delta: withRole, logprobs: null, finish_reason: finishReason }],
      ...(meta.includeUsage ? { usage: null } : {})
    }
  }

  return {
    async event (sse, ev) {
      switch (ev.type) {
        case 'chat_created':
          id ??= completionId(ev.chat_id)
          break
        case 'message_delta':
          await sse.send(chunk({ content: ev.content }))
          break
        case 'reasoning_delta':
          await sse.send(chunk({ reasoning_content: ev.content }))
          break
        case 'chat_completed':
          finish = { reason: 'stop' }
          usage = ev.usage
          break
        case 'tool_calls':
          finish = { reason: 'tool_calls', toolCalls: toOpenAIToolCalls(ev, ev.tool_calls) }
          usage = ev.usage
          break
        default:
          // follow_up suggestions have no place in OpenAI's format
          break
      }
    },
    async error (sse, e) {
      failed = true
      await sse.send(toOpenAIError(e))
    },
    async end (sse) {
      if (failed || !finish) return
      if (finish.reason === 'tool_calls') {
        await sse.send(chunk({ tool_calls: finish.toolCalls.map((c, index) => ({ index, ...c })) }, 'tool_calls'))
      } else {
        await sse.send(chunk({}, 'stop'))
      }
      if (meta.includeUsage && usage) {
        await sse.send({ id, object: 'chat.completion.chunk', created: meta.created, model: meta.model, choices: [], usage: toOpenAIUsage(usage) })
      }
      await sse.sendRaw('[DONE]')
    }
  }
}
