// The OpenAI-compatible API, driven by the official `openai` SDK against the emulator.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { NotFoundError } from 'openai'
import type { ChatCompletionChunk, ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import { splitDeltas } from '../../src/emulator/bots.js'
import { DEFAULT_BOT, sseData } from '../helpers/stack.js'
import { CLIENT_KEY, cozeChats, drain, rejection, startOpenAIStack, type OpenAIStack } from '../helpers/openai.js'

const MODEL_MAP = { 'gpt-4o': DEFAULT_BOT, thinker: 'bot-reasoning', weather: 'bot-tool', ghost: 'bot-that-does-not-exist' }

describe('POST /v1/chat/completions', () => {
  let s: OpenAIStack
  beforeAll(async () => { s = await startOpenAIStack({ COZE_MODEL_MAP: JSON.stringify(MODEL_MAP) }) })
  afterAll(async () => { await s.close() })
  afterEach(() => { s.emu.faults.clear() })

  it('non-stream: a chat.completion with the answer, finish_reason stop and Coze\'s real usage', async () => {
    const r = await s.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello gateway' }] })
    expect(r.object).toBe('chat.completion')
    expect(r.id).toMatch(/^chatcmpl-\d+$/)
    expect(r.model).toBe('gpt-4o')
    expect(r.created).toBeGreaterThan(1_700_000_000)
    expect(r.choices).toHaveLength(1)
    expect(r.choices[0]!.finish_reason).toBe('stop')
    expect(r.choices[0]!.message.role).toBe('assistant')
    expect(r.choices[0]!.message.content).toContain('You said: "hello gateway"')

    // The same turn on /api/v1/chat reports Coze's usage; the OpenAI names carry the same numbers.
    const api = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', messages: [{ role: 'user', content: 'hello gateway' }] } })
    const usage = api.json().data.usage
    expect(usage.token_count).toBeGreaterThan(0)
    expect(r.usage).toEqual({ prompt_tokens: usage.input_count, completion_tokens: usage.output_count, total_tokens: usage.token_count })
  })

  it('stream: only chat.completion.chunk frames with one id, one chunk per Coze delta, a final stop chunk, then [DONE]', async () => {
    const before = s.emu.requests.length
    const stream = await s.client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'stream this please' }] })
    const { chunks, error } = await drain(stream)
    expect(error).toBeUndefined()
    expect(new Set(chunks.map((c) => c.object))).toEqual(new Set(['chat.completion.chunk']))
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1)
    expect(chunks[0]!.id).toMatch(/^chatcmpl-\d+$/)
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant')
    const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content)
    const answer = contentChunks.map((c) => c.choices[0]!.delta.content).join('')
    expect(answer).toContain('You said: "stream this please"')
    // The emulator sends the answer as splitDeltas(answer): one chunk for each, in order.
    expect(contentChunks.map((c) => c.choices[0]!.delta.content)).toEqual(splitDeltas(answer))
    const last = chunks.at(-1)!
    expect(last.choices[0]!.finish_reason).toBe('stop')
    expect(chunks.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true)
    expect(chunks.every((c) => c.usage === undefined)).toBe(true)
    expect(cozeChats(s, before)).toHaveLength(1)
  })

  it('stream wire: SSE headers from architecture.md, data-only frames (no event: lines), [DONE] last', async () => {
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CLIENT_KEY}` },
      body: JSON.stringify({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'raw wire' }] })
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(res.headers.get('x-accel-buffering')).toBe('no')
    const text = await res.text()
    const blocks = text.split('\n\n').filter((b) => b.trim())
    expect(blocks.every((b) => b.startsWith('data: '))).toBe(true)
    expect(text).not.toMatch(/^event:/m)
    expect(blocks.at(-1)).toBe('data: [DONE]')
    const frames = sseData(text).slice(0, -1).map((d) => JSON.parse(d) as ChatCompletionChunk)
    expect(frames.every((f) => f.object === 'chat.completion.chunk')).toBe(true)
  })

  it('include_usage: a last chunk with choices: [] carries the usage; the others have usage null', async () => {
    const stream = await s.client.chat.completions.create({
      model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'count my tokens' }]
    })
    const { chunks, error } = await drain(stream)
    expect(error).toBeUndefined()
    const last = chunks.at(-1)!
    expect(last.choices).toEqual([])
    expect(last.usage!.total_tokens).toBeGreaterThan(0)
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens)
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop')
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true)
    const nonStream = await s.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'count my tokens' }] })
    expect(last.usage).toEqual(nonStream.usage)
  })

  it('model: an alias picks its bot and is echoed back; a raw bot id works; no model means COZE_BOT_ID', async () => {
    let before = s.emu.requests.length
    const byAlias = await s.client.chat.completions.create({ model: 'thinker', messages: [{ role: 'user', content: 'why' }] })
    expect(byAlias.model).toBe('thinker')
    expect(cozeChats(s, before)[0]!.body.bot_id).toBe('bot-reasoning')

    before = s.emu.requests.length
    const byId = await s.client.chat.completions.create({ model: 'bot-echo', messages: [{ role: 'user', content: 'raw id' }] })
    expect(byId.model).toBe('bot-echo')
    expect(cozeChats(s, before)[0]!.body.bot_id).toBe('bot-echo')

    before = s.emu.requests.length
    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'no model' }] })
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { model: string }).model).toBe(DEFAULT_BOT)
    expect(cozeChats(s, before)[0]!.body.bot_id).toBe(DEFAULT_BOT)
  })

  it('an unknown model, or an alias to a bot Coze does not know, is 404 model_not_found, never the default bot', async () => {
    for (const model of ['gpt-5-unknown', 'ghost']) {
      const before = s.emu.requests.length
      const err = await s.client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(NotFoundError)
      const e = err as NotFoundError
      expect(e.status).toBe(404)
      expect(e.code).toBe('model_not_found')
      expect(e.type).toBe('invalid_request_error')
      expect(e.message).toContain(model)
      expect(cozeChats(s, before).map((r) => r.body.bot_id)).toEqual([MODEL_MAP[model as 'ghost'] ?? model])

      const streamErr = await s.client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)
      expect(streamErr).toBeInstanceOf(NotFoundError)
      expect((streamErr as NotFoundError).code).toBe('model_not_found')
    }
  })

  it('the whole messages array is the context: system mapped as on /api/v1/chat, assistant turns kept', async () => {
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: 'Answer like a pirate.' },
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: 'first answer' },
      { role: 'user', content: 'second question' }
    ]
    let before = s.emu.requests.length
    const r = await s.client.chat.completions.create({ model: 'gpt-4o', messages })
    const sent = cozeChats(s, before)[0]!.body.additional_messages
    expect(sent.map((m) => [m.role, m.type])).toEqual([['user', 'question'], ['assistant', 'answer'], ['user', 'question']])
    expect(sent[0]!.content).toBe('System instructions:\nAnswer like a pirate.\n\nfirst question')
    expect(sent[1]!.content).toBe('first answer')
    expect(r.choices[0]!.message.content).toContain('Turn 2.')
    expect(r.choices[0]!.message.content).toContain('[context: user,assistant,user]')

    // Exactly what /api/v1/chat sends for the same messages.
    before = s.emu.requests.length
    await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', messages } })
    expect(cozeChats(s, before)[0]!.body.additional_messages).toEqual(sent)

    // `developer` (newer OpenAI models) is a system message too; text parts are joined.
    before = s.emu.requests.length
    await s.client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'developer', content: [{ type: 'text', text: 'Be brief.' }] }, { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'text', text: 'there' }] }]
    })
    expect(cozeChats(s, before)[0]!.body.additional_messages).toEqual([
      { role: 'user', type: 'question', content: 'System instructions:\nBe brief.\n\nhi\nthere', content_type: 'text' }
    ])
  })

  it('reasoning bots: reasoning_content streams in delta.reasoning_content before the answer, and is in message.reasoning_content', async () => {
    const stream = await s.client.chat.completions.create({ model: 'thinker', stream: true, messages: [{ role: 'user', content: 'why is the sky blue' }] })
    const { chunks, error } = await drain(stream)
    expect(error).toBeUndefined()
    const deltas = chunks.map((c) => c.choices[0]?.delta as { content?: string, reasoning_content?: string } | undefined)
    const firstContent = deltas.findIndex((d) => d?.content)
    const reasoningAt = deltas.map((d, i) => d?.reasoning_content ? i : -1).filter((i) => i >= 0)
    expect(reasoningAt.length).toBeGreaterThanOrEqual(2)
    expect(Math.max(...reasoningAt)).toBeLessThan(firstContent)
    const reasoning = deltas.map((d) => d?.reasoning_content ?? '').join('')

    const r = await s.client.chat.completions.create({ model: 'thinker', messages: [{ role: 'user', content: 'why is the sky blue' }] })
    const message = r.choices[0]!.message as typeof r.choices[0]['message'] & { reasoning_content?: string }
    expect(message.reasoning_content).toBe(reasoning)
    expect(message.content).toBe(deltas.map((d) => d?.content ?? '').join(''))
  })

  it('user becomes the Coze user_id; without it the gateway uses DEFAULT_USER_ID, else "openai-user"', async () => {
    let before = s.emu.requests.length
    await s.client.chat.completions.create({ model: 'gpt-4o', user: 'end-user-42', messages: [{ role: 'user', content: 'who am i' }] })
    expect(cozeChats(s, before)[0]!.body.user_id).toBe('end-user-42')
    before = s.emu.requests.length
    await s.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'who am i' }] })
    expect(cozeChats(s, before)[0]!.body.user_id).toBe('openai-user')
  })

  it('accepts and ignores the OpenAI parameters Coze has no use for', async () => {
    const before = s.emu.requests.length
    const r = await s.client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'ignore the knobs' }],
      temperature: 0.2, top_p: 0.9, max_tokens: 50, max_completion_tokens: 50, n: 1, stop: ['\n'], presence_penalty: 0, frequency_penalty: 0,
      seed: 7, logprobs: false, response_format: { type: 'text' }, metadata: { a: 'b' }, store: false, parallel_tool_calls: false,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }], tool_choice: 'auto',
      // @ts-expect-error a field OpenAI does not know either
      some_future_param: { x: 1 }
    })
    expect(r.choices[0]!.message.content).toContain('ignore the knobs')
    const body = cozeChats(s, before)[0]!.body as unknown as Record<string, unknown>
    expect(Object.keys(body).sort()).toEqual(['additional_messages', 'bot_id', 'stream', 'user_id'])
  })

  it('a bot that asks for a tool: finish_reason tool_calls with tool_calls, and the tool result continues the Coze chat', async () => {
    const question: ChatCompletionMessageParam = { role: 'user', content: 'Paris' }
    const r = await s.client.chat.completions.create({ model: 'weather', messages: [question] })
    const choice = r.choices[0]!
    expect(choice.finish_reason).toBe('tool_calls')
    expect(choice.message.content).toBeNull()
    const call = choice.message.tool_calls![0]!
    expect(call.type).toBe('function')
    expect(call.type === 'function' && call.function.name).toBe('get_weather')
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' })
    expect(r.usage!.total_tokens).toBeGreaterThan(0)

    const before = s.emu.requests.length
    const next = await s.client.chat.completions.create({
      model: 'weather',
      messages: [question, choice.message, { role: 'tool', tool_call_id: call.id, content: 'sunny, 24°C' }]
    })
    expect(next.choices[0]!.finish_reason).toBe('stop')
    expect(next.choices[0]!.message.content).toBe('The tool said: sunny, 24°C')
    expect(s.emu.requests.slice(before).map((q) => q.path)).toEqual(['/v3/chat/submit_tool_outputs'])

    // Streamed, the tool calls come in the final chunk's delta.tool_calls.
    const stream = await s.client.chat.completions.create({ model: 'weather', stream: true, messages: [{ role: 'user', content: 'Oslo' }] })
    const { chunks, error } = await drain(stream)
    expect(error).toBeUndefined()
    const last = chunks.at(-1)!.choices[0]!
    expect(last.finish_reason).toBe('tool_calls')
    expect(last.delta.tool_calls![0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } })

    // A tool result for a call this gateway never issued is a clear 400, before Coze.
    const bad = await rejection(s.client.chat.completions.create({
      model: 'weather', messages: [question, { role: 'tool', tool_call_id: 'call_abc', content: 'x' }]
    }))
    expect(bad.status).toBe(400)
    expect(bad.param).toBe('messages[1].tool_call_id')
  })

  it('the client\'s bearer never reaches Coze: every upstream call carries the gateway token only', async () => {
    const seen = s.emu.requests
    expect(seen.filter((r) => r.path === '/v3/chat').length).toBeGreaterThan(5)
    for (const r of seen) {
      expect(r.headers.authorization).toBe(`Bearer ${s.emu.token}`)
      expect(JSON.stringify(r.headers)).not.toContain(CLIENT_KEY)
    }
    expect(s.logs.join('')).not.toContain(CLIENT_KEY)
  })
})

describe('GET /v1/models', () => {
  let s: OpenAIStack
  beforeAll(async () => { s = await startOpenAIStack({ COZE_MODEL_MAP: JSON.stringify({ 'gpt-4o': DEFAULT_BOT, thinker: 'bot-reasoning', ghost: 'bot-missing', 'team/bot': 'bot-reasoning' }) }) })
  afterAll(async () => { await s.close() })

  it('lists the aliases of COZE_MODEL_MAP and the default bot in OpenAI\'s list format, with bot names from Coze, cached', async () => {
    const page = await s.client.models.list()
    const models = page.data as Array<(typeof page.data)[number] & { bot_id: string, name?: string }>
    expect(models.map((m) => m.id)).toEqual(['gpt-4o', 'thinker', 'ghost', 'team/bot', DEFAULT_BOT])
    for (const m of models) {
      expect(m.object).toBe('model')
      expect(m.owned_by).toBe('coze')
      expect(Number.isInteger(m.created)).toBe(true)
    }
    expect(models.map((m) => [m.id, m.bot_id, m.name])).toEqual([
      ['gpt-4o', DEFAULT_BOT, 'Echo'], ['thinker', 'bot-reasoning', 'Reasoner'], ['ghost', 'bot-missing', undefined],
      ['team/bot', 'bot-reasoning', 'Reasoner'], [DEFAULT_BOT, DEFAULT_BOT, 'Echo']
    ])

    const lookups = () => s.emu.requests.filter((r) => r.path.startsWith('/v1/bots')).length
    const before = lookups()
    await s.client.models.list()
    expect(lookups()).toBe(before)
  })

  it('still lists the models when Coze cannot be asked for names', async () => {
    const fresh = await startOpenAIStack({ COZE_MODEL_MAP: '{"a":"bot-echo"}' })
    try {
      fresh.emu.faults.inject({ kind: 'http_status', status: 503 }, { path: /^\/v1\/bots/ })
      const page = await fresh.client.models.list()
      expect(page.data.map((m) => m.id)).toEqual(['a', DEFAULT_BOT])
    } finally {
      await fresh.close()
    }
  })

  it('retrieves one model: an alias, a raw bot id; an unknown one is 404 model_not_found', async () => {
    const alias = await s.client.models.retrieve('thinker')
    expect(alias).toMatchObject({ id: 'thinker', object: 'model', bot_id: 'bot-reasoning', name: 'Reasoner' })
    const raw = await s.client.models.retrieve('bot-tool')
    expect(raw).toMatchObject({ id: 'bot-tool', bot_id: 'bot-tool', name: 'Weather tool' })
    const slashed = await s.client.models.retrieve('team/bot')
    expect(slashed).toMatchObject({ id: 'team/bot', bot_id: 'bot-reasoning' })
    for (const id of ['nope', 'ghost']) {
      const err = await s.client.models.retrieve(id).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(NotFoundError)
      expect((err as NotFoundError).code).toBe('model_not_found')
    }
  })

  it('an unknown /v1 route is a 404 in OpenAI\'s format', async () => {
    const res = await fetch(`${s.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ type: 'invalid_request_error', code: 'not_found' })
  })
})
