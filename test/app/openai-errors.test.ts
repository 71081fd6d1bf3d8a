// Every failure of the OpenAI-compatible API, as the official SDK sees it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { APIError, BadRequestError, InternalServerError, RateLimitError } from 'openai'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import { cozeChats, drain, rejection as failing, startOpenAIStack, type OpenAIStack } from '../helpers/openai.js'
import { sseData } from '../helpers/stack.js'

const ask = (content = 'one two three four five six') => [{ role: 'user' as const, content }]

describe('OpenAI error format', () => {
  let s: OpenAIStack
  beforeAll(async () => { s = await startOpenAIStack() })
  afterAll(async () => { await s.close() })
  afterEach(() => { s.emu.faults.clear() })

  it('a bad request is a 400 invalid_request_error naming the field, before Coze is called', async () => {
    const before = s.emu.requests.length
    const empty = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: [] }))
    expect(empty).toBeInstanceOf(BadRequestError)
    expect(empty.error).toMatchObject({ type: 'invalid_request_error', param: 'messages' })
    expect(empty.message).toMatch(/messages/)

    const lastAssistant = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }))
    expect(lastAssistant.status).toBe(400)
    expect(lastAssistant.param).toBe('messages[1].role')

    const badRole = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: [{ role: 'wizard' as 'user', content: 'a' }] }))
    expect(badRole.status).toBe(400)
    expect(badRole.param).toBe('messages[0].role')

    const audio = await failing(s.client.chat.completions.create({
      model: 'bot-echo', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }]
    }))
    expect(audio.status).toBe(400)
    expect(audio.param).toBe('messages[0].content[0].type')

    const res = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages": [' })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error')

    expect(s.emu.requests.length).toBe(before)
  })

  it('Coze 4013 is a 429 rate_limit_exceeded, streaming or not, and the SDK is told not to retry', async () => {
    s.emu.faults.inject({ kind: 'coze_error', code: 4013 }, { path: '/v3/chat' })
    const before = s.emu.requests.length
    const err = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: ask() }))
    expect(err).toBeInstanceOf(RateLimitError)
    expect(err.status).toBe(429)
    expect(err.code).toBe('rate_limit_exceeded')
    expect(err.type).toBe('rate_limit_error')
    expect(err.headers?.get('x-should-retry')).toBe('false')
    // One Coze chat, no silent re-run by the SDK's retries.
    expect(cozeChats(s, before)).toHaveLength(1)

    const streamErr = await failing(s.client.chat.completions.create({ model: 'bot-echo', stream: true, messages: ask() }))
    expect(streamErr).toBeInstanceOf(RateLimitError)
    expect((streamErr.error as { coze_code: number }).coze_code).toBe(4013)
  })

  it('Coze answering HTTP 429 is a 429 too', async () => {
    s.emu.faults.inject({ kind: 'http_status', status: 429 }, { path: '/v3/chat' })
    const err = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: ask() }))
    expect(err).toBeInstanceOf(RateLimitError)
    expect(err.code).toBe('rate_limit_exceeded')
    const streamErr = await failing(s.client.chat.completions.create({ model: 'bot-echo', stream: true, messages: ask() }))
    expect(streamErr).toBeInstanceOf(RateLimitError)
  })

  it('non-stream failures after Coze started are 502 with the Coze code, never an empty answer', async () => {
    s.emu.faults.inject({ kind: 'stream_error', afterDeltas: 2, code: 5000 }, { path: '/v3/chat', times: 1 })
    const midError = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: ask() }))
    expect(midError).toBeInstanceOf(InternalServerError)
    expect(midError.status).toBe(502)
    expect(midError.error).toMatchObject({ type: 'upstream_error', code: 'upstream_error', coze_code: 5000 })
    expect((midError.error as { logid: string }).logid).toMatch(/^\d{14}/)

    s.emu.faults.inject({ kind: 'chat_failed', afterDeltas: 1, code: 5000, msg: 'event interval error' }, { path: '/v3/chat', times: 1 })
    const failed = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: ask() }))
    expect(failed.status).toBe(502)
    expect(failed.message).toContain('event interval error')

    s.emu.faults.inject({ kind: 'truncate', afterDeltas: 2 }, { path: '/v3/chat', times: 1 })
    const cut = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: ask() }))
    expect(cut.status).toBe(502)
    expect(cut.code).toBe('upstream_truncated')
  })

  it('a Coze error mid-stream is an error object in the stream, which the SDK throws; never a stop chunk', async () => {
    s.emu.faults.inject({ kind: 'stream_error', afterDeltas: 2, code: 5000, msg: 'boom in the middle' }, { path: '/v3/chat', times: 1 })
    const stream = await s.client.chat.completions.create({ model: 'bot-echo', stream: true, messages: ask() })
    const { chunks, error } = await drain(stream)
    expect(error).toBeInstanceOf(APIError)
    expect((error as APIError).message).toContain('boom in the middle')
    expect((error as APIError).error).toMatchObject({ type: 'upstream_error', coze_code: 5000 })
    expect(chunks.filter((c) => c.choices[0]?.delta.content)).toHaveLength(2)
    expect(chunks.some((c) => c.choices[0]?.finish_reason)).toBe(false)

    // On the wire: the error frame, and no finish_reason / [DONE] after it.
    s.emu.faults.inject({ kind: 'chat_failed', afterDeltas: 2, code: 4013 }, { path: '/v3/chat', times: 1 })
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'bot-echo', stream: true, messages: ask() })
    })
    expect(res.status).toBe(200)
    const frames = sseData(await res.text()).map((d) => JSON.parse(d) as ChatCompletionChunk & { error?: { type: string, code: string } })
    expect(frames.at(-1)!.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' })
    expect(frames.slice(0, -1).every((f) => f.object === 'chat.completion.chunk' && f.choices[0]!.finish_reason === null)).toBe(true)
  })

  it('a cut stream makes the SDK throw: it never ends quietly or with stop', async () => {
    s.emu.faults.inject({ kind: 'truncate', afterDeltas: 2 }, { path: '/v3/chat', times: 1 })
    const stream = await s.client.chat.completions.create({ model: 'bot-echo', stream: true, stream_options: { include_usage: true }, messages: ask() })
    const { chunks, error } = await drain(stream)
    expect(error).toBeInstanceOf(APIError)
    expect((error as APIError).message).toMatch(/ended before the chat completed/)
    expect((error as APIError).code).toBe('upstream_truncated')
    expect(chunks.some((c) => c.choices[0]?.finish_reason || c.usage)).toBe(false)
  })
})

describe('OpenAI errors: upstream token and timeouts', () => {
  it('a Coze-rejected gateway token is a 502 whose text never contains the token', async () => {
    const token = 'pat_wrong_gateway_secret_0123456789'
    const s = await startOpenAIStack({ COZE_API_TOKEN: token })
    try {
      const err = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: ask() }))
      expect(err.status).toBe(502)
      expect(err.error).toMatchObject({ type: 'upstream_auth_error', code: 'upstream_token_rejected', coze_code: 4100 })
      expect(JSON.stringify(err.error)).not.toContain(token)
      expect(err.message).toContain('COZE_API_TOKEN')

      const res = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'bot-echo', stream: true, messages: ask() })
      })
      expect(res.status).toBe(502)
      const text = await res.text()
      expect(text).not.toContain(token)
      expect(JSON.parse(text).error.code).toBe('upstream_token_rejected')
      expect(s.logs.join('')).not.toContain(token)
    } finally {
      await s.close()
    }
  })

  it('Coze not answering in time is 504 (non-stream) and an error object mid-stream', async () => {
    const s = await startOpenAIStack({ COZE_CONNECT_TIMEOUT_MS: '300', COZE_IDLE_TIMEOUT_MS: '300' })
    try {
      s.emu.faults.inject({ kind: 'hang' }, { path: '/v3/chat', times: 1 })
      const err = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: ask() }))
      expect(err.status).toBe(504)
      expect(err.code).toBe('upstream_timeout')

      s.emu.faults.inject({ kind: 'latency', deltaMs: 1000 }, { path: '/v3/chat', times: 1 })
      const stream = await s.client.chat.completions.create({ model: 'bot-echo', stream: true, messages: ask() })
      const { error } = await drain(stream)
      expect(error).toBeInstanceOf(APIError)
      expect((error as APIError).code).toBe('upstream_timeout')
    } finally {
      await s.close()
    }
  })
})

describe('OpenAI errors: the gateway\'s own limits', () => {
  it('the gateway rate limit and an oversized body answer in OpenAI\'s format too', async () => {
    const s = await startOpenAIStack({ ENABLE_RATE_LIMIT: 'true', RATE_LIMIT_REQUESTS: '2', BODY_LIMIT_KB: '1', OPENAI_IMAGE_MAX_MB: '1' })
    try {
      const huge = 'x'.repeat(2 * 1024 * 1024)
      const tooLarge = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: ask(huge) }))
      expect(tooLarge.status).toBe(413)
      expect(tooLarge.error).toMatchObject({ type: 'invalid_request_error', code: 'payload_too_large' })

      await s.client.chat.completions.create({ model: 'bot-echo', messages: ask() })
      const limited = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: ask() }))
      expect(limited).toBeInstanceOf(RateLimitError)
      expect(limited.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' })
      expect(limited.headers?.get('retry-after')).toMatch(/^\d+$/)
    } finally {
      await s.close()
    }
  })
})

