import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CozeAPI } from '@coze/api'
import type { StreamChatData } from '@coze/api'
import { CHATFLOW_ECHO_ID, DEFAULT_BOT_ID, startEmulator } from '../../src/emulator/index.js'
import type { Emulator } from '../../src/emulator/index.js'
import { user } from './helpers.js'

const CJK = /[\u4e00-\u9fff\uff0c\u3002]/g
const QUESTION = '请用中文介绍一下你自己，谢谢你的帮助'

/** Each delta's content and when it arrived. */
async function timedDeltas (stream: AsyncIterable<StreamChatData>): Promise<{ deltas: Array<{ content: string; at: number }>; answer: string }> {
  const deltas: Array<{ content: string; at: number }> = []
  let answer = ''
  for await (const ev of stream) {
    const d = ev.data as any
    if (ev.event === 'conversation.message.delta') deltas.push({ content: d.content, at: Date.now() })
    if (ev.event === 'conversation.message.completed' && d.type === 'answer') answer = d.content
  }
  return { deltas, answer }
}

const cjkDeltas = (deltas: Array<{ content: string }>): string[] => deltas.map((d) => d.content).filter((c) => (c.match(CJK) ?? []).length > 0)

describe('paceDeltas (demo mode)', () => {
  let emu: Emulator
  let coze: CozeAPI
  beforeAll(async () => {
    emu = await startEmulator({ paceDeltas: { minMs: 30, maxMs: 80 } })
    coze = new CozeAPI({ token: emu.token, baseURL: emu.url })
  })
  afterAll(async () => { await emu.close() })

  it('the default bot spreads its deltas 30-80 ms apart', async () => {
    const t0 = Date.now()
    const { deltas } = await timedDeltas(coze.chat.stream({ bot_id: DEFAULT_BOT_ID, additional_messages: [user('hello there my good friend')] }))
    expect(deltas.length).toBeGreaterThanOrEqual(5)
    // the server sleeps 30-80 ms before every delta
    expect(deltas[0]!.at - t0).toBeGreaterThanOrEqual(25)
    const span = deltas.at(-1)!.at - deltas[0]!.at
    expect(span).toBeGreaterThanOrEqual((deltas.length - 1) * 30 * 0.8)
    expect(span).toBeLessThanOrEqual((deltas.length - 1) * 80 + 1000)
    const gaps = deltas.slice(1).map((d, i) => d.at - deltas[i]!.at)
    expect(gaps.filter((g) => g >= 20).length).toBeGreaterThanOrEqual(gaps.length - 1)
  })

  it('a Chinese answer comes as several deltas of a few characters each, adding up to the answer', async () => {
    const { deltas, answer } = await timedDeltas(coze.chat.stream({ bot_id: DEFAULT_BOT_ID, additional_messages: [user(QUESTION)] }))
    expect(answer).toContain(QUESTION)
    expect(deltas.map((d) => d.content).join('')).toBe(answer)
    const cjk = cjkDeltas(deltas)
    expect(cjk.length).toBeGreaterThanOrEqual(5)
    for (const c of cjk) expect((c.match(CJK) ?? []).length).toBeLessThanOrEqual(3)
  })

  it('chatflows are paced and cut the same way', async () => {
    const t0 = Date.now()
    const { deltas, answer } = await timedDeltas(coze.workflows.chat.stream({ workflow_id: CHATFLOW_ECHO_ID, additional_messages: [user(QUESTION)] }))
    expect(deltas.map((d) => d.content).join('')).toBe(answer)
    expect(cjkDeltas(deltas).length).toBeGreaterThanOrEqual(5)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(deltas.length * 30 * 0.8)
  })
})

describe('demo: true', () => {
  it('is paceDeltas 30-80 ms', async () => {
    const emu = await startEmulator({ demo: true })
    try {
      const coze = new CozeAPI({ token: emu.token, baseURL: emu.url })
      const t0 = Date.now()
      const { deltas } = await timedDeltas(coze.chat.stream({ bot_id: DEFAULT_BOT_ID, additional_messages: [user(QUESTION)] }))
      expect(cjkDeltas(deltas).length).toBeGreaterThanOrEqual(5)
      expect(Date.now() - t0).toBeGreaterThanOrEqual(deltas.length * 30 * 0.8)
    } finally {
      await emu.close()
    }
  })
})

describe('without paceDeltas', () => {
  let emu: Emulator
  let coze: CozeAPI
  beforeAll(async () => {
    emu = await startEmulator()
    coze = new CozeAPI({ token: emu.token, baseURL: emu.url })
  })
  afterAll(async () => { await emu.close() })

  it('stays unpaced: the Chinese run is one delta (split on spaces only) and the whole stream is quick', async () => {
    const t0 = Date.now()
    const { deltas } = await timedDeltas(coze.chat.stream({ bot_id: DEFAULT_BOT_ID, additional_messages: [user(QUESTION)] }))
    const cjk = cjkDeltas(deltas)
    expect(cjk).toHaveLength(1)
    expect(cjk[0]).toContain(QUESTION)
    expect(Date.now() - t0).toBeLessThan(deltas.length * 30)
  })
})
