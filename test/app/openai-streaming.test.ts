// Streaming over real sockets: deltas relayed as they come, heartbeats the SDK ignores,
// and a client abort that stops the upstream work (Coze request aborted, chat cancelled).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APIUserAbortError } from 'openai'
import { cozeChats, startOpenAIStack, waitFor, type OpenAIStack } from '../helpers/openai.js'

const slowQuestion = [{ role: 'user' as const, content: 'one two three four five six seven eight' }]

describe('client abort on /v1/chat/completions', () => {
  let s: OpenAIStack
  beforeAll(async () => { s = await startOpenAIStack({}, { slowDeltaMs: 200 }) })
  afterAll(async () => { await s.close() })

  const cancels = (from: number) => s.emu.requests.slice(from).filter((r) => r.path === '/v3/chat/cancel')

  it('aborting an SDK stream aborts the Coze request and cancels the Coze chat', async () => {
    const before = s.emu.requests.length
    const ac = new AbortController()
    const stream = await s.client.chat.completions.create({ model: 'bot-slow', stream: true, messages: slowQuestion }, { signal: ac.signal })
    let chunkId = ''
    let received = 0
    for await (const chunk of stream) {
      chunkId = chunk.id
      if (chunk.choices[0]?.delta.content && ++received === 1) ac.abort()
    }
    expect(received).toBe(1)
    await waitFor(() => cozeChats(s, before).some((r) => r.aborted))
    await waitFor(() => cancels(before).length === 1)
    const cancel = cancels(before)[0]!.body as { conversation_id: string, chat_id: string }
    // The completion id carries the Coze chat id: the cancelled chat is this one.
    expect(chunkId).toBe(`chatcmpl-${cancel.chat_id}`)
    expect(cancel.conversation_id).toMatch(/^\d+$/)
  })

  it('aborting a non-stream request does the same', async () => {
    const before = s.emu.requests.length
    const ac = new AbortController()
    const pending = s.client.chat.completions.create({ model: 'bot-slow', messages: slowQuestion }, { signal: ac.signal }).catch((e: unknown) => e)
    await waitFor(() => cozeChats(s, before).length === 1)
    await new Promise((r) => setTimeout(r, 300))
    ac.abort()
    expect(await pending).toBeInstanceOf(APIUserAbortError)
    await waitFor(() => cozeChats(s, before).some((r) => r.aborted))
    await waitFor(() => cancels(before).length === 1)
    expect(s.logs.join('')).not.toMatch(/"level":50/)
  })
})

describe('streaming timing on /v1/chat/completions', () => {
  let s: OpenAIStack
  beforeAll(async () => { s = await startOpenAIStack({ SSE_HEARTBEAT_MS: '40' }, { slowDeltaMs: 150 }) })
  afterAll(async () => { await s.close() })

  it('each Coze delta goes out as it arrives, and heartbeats while Coze is silent do not disturb the SDK', async () => {
    const stream = await s.client.chat.completions.create({ model: 'bot-slow', stream: true, messages: [{ role: 'user', content: 'a b c d e' }] })
    const arrivals: number[] = []
    let text = ''
    let finish: string | null = null
    for await (const chunk of stream) {
      const c = chunk.choices[0]
      if (c?.delta.content) { arrivals.push(Date.now()); text += c.delta.content }
      if (c?.finish_reason) finish = c.finish_reason
    }
    expect(text).toContain('You said: "a b c d e"')
    expect(finish).toBe('stop')
    expect(arrivals.length).toBeGreaterThanOrEqual(3)
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(250)

    const res = await fetch(`${s.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'bot-slow', stream: true, messages: [{ role: 'user', content: 'a b c' }] })
    })
    expect(await res.text()).toMatch(/^: heartbeat$/m)
  })
})
