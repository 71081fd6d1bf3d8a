// The OpenAI wire: chat results → `chat.completion` and `chat.completion.chunk` objects,
// and every failure → OpenAI's error body. The stream wire holds the finish chunk until
// the pipeline has seen Coze's `done`, so a stream that fails after `chat.completed` ends
// with an error object, never `stop`.
import { randomBytes } from 'node:crypto'
import { Type } from 'typebox'
import type { Usage } from '../coze/chat.js'
import type { ChatEvent, ChatResult } from '../chat/types.js'
import type { GatewayError } from '../errors.js'
import type { SseWire } from '../sse.js'
import { InvalidParamError, ModelNotFoundError } from '../openai/errors.js'
import { toOpenAIToolCalls, type OpenAIToolCall } from '../openai/tool-calls.js'

const UsageSchema = Type.Object({ prompt_tokens: Type.Integer(), completion_tokens: Type.Integer(), total_tokens: Type.Integer() })

export const ChunkFrameSchema = Type.Union([
  Type.Object({
    id: Type.String(),
    object: Type.Literal('chat.completion.chunk'),
    created: Type.Integer(),
    model: Type.String(),
    choices: Type.Array(Type.Object({
      index: Type.Integer(),
      delta: Type.Object({}, { additionalProperties: true, description: '{role?, content?, reasoning_content?, tool_calls?}' }),
      logprobs: Type.Null(),
      finish_reason: Type.Union([Type.Null(), Type.Literal('stop'), Type.Literal('tool_calls')])
    })),
    usage: Type.Optional(Type.Union([Type.Null(), UsageSchema], { description: 'With stream_options.include_usage: null, then the last chunk (choices: []) carries it' }))
  }, { description: 'chat.completion.chunk' }),
  Type.Object({ error: Type.Object({ message: Type.String(), type: Type.String(), code: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: true }) },
    { description: 'The stream failed after it began (no finish chunk and no [DONE] follow)' }),
  Type.Literal('[DONE]', { description: 'data: [DONE], the last frame of a completed stream' })
], { description: 'Server-Sent Events: `data: <json>` frames, then `data: [DONE]`' })

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
      await sse.send(errorBody(e))
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

export interface OpenAIErrorBody {
  error: {
    message: string
    type: string
    param: string | null
    code: string | null
    /** Coze's business code, when Coze reported the error */
    coze_code?: number
    /** Coze's logid of the failed call, for support tickets */
    logid?: string
  }
}

/** OpenAI clients must not retry on their own: a Coze chat is not idempotent (a retried chat runs and bills again). */
export const ERROR_HEADERS = { 'x-should-retry': 'false' }

function typeAndCode (e: GatewayError): { type: string, code: string } {
  const lower = e.code.toLowerCase()
  if (e instanceof ModelNotFoundError) return { type: 'invalid_request_error', code: 'model_not_found' }
  if (e instanceof InvalidParamError) return { type: 'invalid_request_error', code: e.openaiCode }
  // The gateway key's failures, in OpenAI's own words.
  switch (e.code) {
    case 'UNAUTHORIZED': return { type: 'invalid_request_error', code: 'invalid_api_key' }
    case 'FORBIDDEN': return { type: 'invalid_request_error', code: 'permission_denied' }
    case 'TOO_MANY_STREAMS': return { type: 'rate_limit_error', code: 'too_many_streams' }
    case 'QUOTA_EXCEEDED': if (e.statusCode === 429) return { type: 'insufficient_quota', code: 'insufficient_quota' }
      break
    default: break
  }
  switch (e.statusCode) {
    case 404: return { type: 'invalid_request_error', code: 'not_found' }
    case 429: return { type: 'rate_limit_error', code: 'rate_limit_exceeded' }
    case 402: return { type: 'insufficient_quota', code: lower }
    default: break
  }
  if (e.code === 'UPSTREAM_AUTH') return { type: 'upstream_auth_error', code: 'upstream_token_rejected' }
  if (e.statusCode < 500) return { type: 'invalid_request_error', code: lower }
  return { type: e.statusCode === 500 ? 'server_error' : 'upstream_error', code: lower }
}

/** The body OpenAI clients read; messages never contain a token (the catalogue's never do). */
export function errorBody (e: GatewayError): OpenAIErrorBody {
  const { type, code } = typeAndCode(e)
  return {
    error: {
      message: e.message,
      type,
      param: e instanceof InvalidParamError ? e.param : validationParam(e),
      code,
      ...(e.cozeCode !== undefined ? { coze_code: e.cozeCode } : {}),
      ...(e.logid ? { logid: e.logid } : {})
    }
  }
}

/** Schema validation errors carry the failing field in details[0].field ("body/messages/0/role"). */
function validationParam (e: GatewayError): string | null {
  const d = e.details as Array<{ field?: string }> | undefined
  const field = Array.isArray(d) ? d[0]?.field : undefined
  if (!field) return null
  return field.replace(/^body\/?/, '').split('/').filter(Boolean)
    .map((seg, i) => /^\d+$/.test(seg) ? `[${seg}]` : (i === 0 ? seg : `.${seg}`)).join('') || null
}
