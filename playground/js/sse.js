// Server-Sent Events over fetch (EventSource cannot POST). The gateway sends
// `data: <json>` frames separated by a blank line, and `:` comment lines as heartbeats.

/** One SSE block → { raw, data, event }; data is null for a comment-only block (heartbeat). */
export function parseBlock (raw) {
  const data = []
  let event
  for (const line of raw.split('\n')) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') data.push(value)
    else if (field === 'event') event = value
  }
  return { raw, data: data.length > 0 ? data.join('\n') : null, event }
}

/** Incremental parser: feed() text as it arrives, get back the blocks it completed. */
export class SseParser {
  constructor () { this.buffer = '' }

  feed (text) {
    // \r\n and lone \r are line ends too; a \r at the very end may be half of a \r\n.
    this.buffer = (this.buffer + text).replace(/\r\n|\r(?!$)/g, '\n')
    const blocks = []
    let end
    while ((end = this.buffer.indexOf('\n\n')) !== -1) {
      const raw = this.buffer.slice(0, end)
      this.buffer = this.buffer.slice(end + 2)
      if (raw.trim() !== '') blocks.push(parseBlock(raw))
    }
    return blocks
  }

  /** What is left when the stream ends: a block cut in the middle, or ''. */
  rest () { return this.buffer.trim() }
}

/**
 * Reads a fetch body to its end, calling onBlock(block) for every block.
 * Returns the unterminated rest ('' when the stream ended cleanly between blocks).
 */
export async function readSse (body, onBlock) {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const parser = new SseParser()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    for (const block of parser.feed(decoder.decode(value, { stream: true }))) onBlock(block)
  }
  for (const block of parser.feed(decoder.decode())) onBlock(block)
  return parser.rest()
}
