// tsx bench/sse-parser.ts: the lean transport's SSE parser (src/coze/sse-parser.ts) next to
// eventsource-parser and to the SDK's own loop (@coze/api fetchAPI().stream(), copied), on
// the body of one emulator chat (20 deltas), fed as the emulator sends it (one chunk per
// event) and in 64-byte pieces. Rounds interleave the three, so the machine's noise falls
// on all alike; prints µs per chat body, median of the rounds.
import { createParser } from 'eventsource-parser'
import { CozeSseParser, type RawEvent } from '../src/coze/sse-parser.js'

const ids = { id: '7500000000000000005', conversation_id: '7500000000000000001', chat_id: '7500000000000000003', section_id: '7500000000000000002' }
const frame = (event: string, data: unknown) => `event:${event}\ndata:${JSON.stringify(data)}\n\n`
const events = [
  frame('conversation.chat.created', { ...ids, status: 'created' }),
  frame('conversation.chat.in_progress', { ...ids, status: 'in_progress' }),
  ...Array.from({ length: 20 }, (_, i) => frame('conversation.message.delta', { ...ids, role: 'assistant', type: 'answer', content: `word${i} `, content_type: 'text' })),
  frame('conversation.message.completed', { ...ids, type: 'answer', content: 'the whole answer' }),
  frame('conversation.chat.completed', { ...ids, status: 'completed', usage: { token_count: 30 } }),
  'event:done\ndata:"[DONE]"\n\n'
]
const perEvent = events.map((e) => Buffer.from(e))
const whole = Buffer.concat(perEvent)
const pieces = Array.from({ length: Math.ceil(whole.length / 64) }, (_, i) => whole.subarray(i * 64, (i + 1) * 64))

function lean (chunks: Buffer[]): number {
  const p = new CozeSseParser()
  const out: RawEvent[] = []
  for (const c of chunks) p.feed(c, out)
  p.end()
  return out.length
}

function esp (chunks: Buffer[]): number {
  let n = 0
  const decoder = new TextDecoder()
  const p = createParser({ onEvent: () => { n++ } })
  for (const c of chunks) p.feed(decoder.decode(c, { stream: true }))
  return n
}

// The SDK's loop, as in @coze/api 1.3.9 (dist/esm/index.mjs, fetchAPI().stream()).
function sdk (chunks: Buffer[]): number {
  let n = 0
  const decoder = new TextDecoder()
  const fieldValues: Record<string, string> = {}
  let buffer = ''
  for (const value of chunks) {
    buffer += decoder.decode(value, { stream: true })
    const lines = buffer.split('\n')
    for (let i = 0; i < lines.length - 1; i++) {
      const line = lines[i]!
      const index = line.indexOf(':')
      if (index !== -1) {
        const field = line.substring(0, index).trim()
        const content = line.substring(index + 1).trim()
        fieldValues[field] = content
        if (field === 'data') n++
      }
    }
    buffer = lines[lines.length - 1]!
  }
  return n
}

const parsers = { 'src/coze/sse-parser.ts': lean, 'eventsource-parser': esp, 'the SDK\'s loop': sdk }
const ITER = 20_000
const ROUNDS = 7
for (const [label, chunks] of [['one chunk per event', perEvent], ['64-byte pieces', pieces]] as const) {
  const results: Record<string, number[]> = {}
  for (const [name, f] of Object.entries(parsers)) {
    if (f(chunks) !== events.length) throw new Error(`${name} found ${f(chunks)} events, not ${events.length}`)
    for (let i = 0; i < 2000; i++) f(chunks)
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, f] of Object.entries(parsers)) {
      const t0 = performance.now()
      for (let i = 0; i < ITER; i++) f(chunks)
      ;(results[name] ??= []).push(((performance.now() - t0) * 1000) / ITER)
    }
  }
  console.log(`${label} (${events.length} events, ${whole.length} bytes):`)
  for (const [name, xs] of Object.entries(results)) {
    const sorted = xs.sort((a, b) => a - b)
    console.log(`  ${name.padEnd(24)} ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} µs per chat`)
  }
}
