// image_url parts: uploaded to Coze files and sent as object_string with the file_id.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import { cozeChats, rejection as failing, startOpenAIStack, type OpenAIStack } from '../helpers/openai.js'

const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(300, 7)])
const dataUrl = (bytes: Buffer, type = 'image/png') => `data:${type};base64,${bytes.toString('base64')}`
const withImage = (url: string, text = 'what is in this picture?'): ChatCompletionMessageParam[] =>
  [{ role: 'user', content: [{ type: 'text', text }, { type: 'image_url', image_url: { url } }] }]

interface ImageServer { url: string, hits: string[], close (): Promise<void> }

/** Serves images on 127.0.0.1: /cat.png, /old.png (redirect), /big.png, /chunked-big, /missing, /hang */
async function startImageServer (): Promise<ImageServer> {
  const hits: string[] = []
  const server = http.createServer((req, res) => {
    hits.push(req.url!)
    switch (req.url) {
      case '/cat.png': res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length }).end(PNG); break
      case '/old.png': res.writeHead(302, { location: '/cat.png' }).end(); break
      case '/big.png': res.writeHead(200, { 'content-type': 'image/png', 'content-length': 2 * 1024 * 1024 }).end(Buffer.alloc(2 * 1024 * 1024)); break
      case '/chunked-big': {
        res.writeHead(200, { 'content-type': 'image/png' })
        for (let i = 0; i < 40; i++) res.write(Buffer.alloc(64 * 1024))
        res.end()
        break
      }
      case '/hang': break
      default: res.writeHead(404).end('not found')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}

describe('image_url parts', () => {
  let s: OpenAIStack
  let img: ImageServer
  beforeAll(async () => {
    // The test image server is on loopback, which the default (OPENAI_IMAGE_ALLOW_PRIVATE=false) refuses.
    s = await startOpenAIStack({ OPENAI_IMAGE_MAX_MB: '1', OPENAI_IMAGE_FETCH_TIMEOUT_MS: '2000', OPENAI_IMAGE_ALLOW_PRIVATE: 'true' })
    img = await startImageServer()
  })
  afterAll(async () => { await s.close(); await img.close() })
  afterEach(() => { s.emu.faults.clear() })

  const uploads = (from: number) => s.emu.requests.slice(from).filter((r) => r.path === '/v1/files/upload')
  it('a data: image is uploaded to Coze files and reaches the bot as object_string with its file_id', async () => {
    const before = s.emu.requests.length
    const r = await s.client.chat.completions.create({ model: 'bot-echo', messages: withImage(dataUrl(PNG)) })
    const [upload] = uploads(before)
    expect(upload!.body).toMatchObject({ fileName: 'image.png', bytes: PNG.length })
    const sent = cozeChats(s, before)[0]!.body.additional_messages
    expect(sent).toHaveLength(1)
    expect(sent[0]!.content_type).toBe('object_string')
    const items = JSON.parse(sent[0]!.content) as Array<{ type: string, text?: string, file_id?: string }>
    expect(items[0]).toEqual({ type: 'text', text: 'what is in this picture?' })
    expect(items[1]!.type).toBe('image')
    expect(items[1]!.file_id).toMatch(/^\d+$/)
    // The emulator bot names the file it was given.
    expect(r.choices[0]!.message.content).toContain(`I received the file "image.png" (${items[1]!.file_id})`)
  })

  it('streams too: the image is uploaded before the chat starts', async () => {
    const before = s.emu.requests.length
    const stream = await s.client.chat.completions.create({ model: 'bot-echo', stream: true, messages: withImage(dataUrl(PNG, 'image/jpeg')) })
    let text = ''
    for await (const c of stream) text += c.choices[0]?.delta.content ?? ''
    expect(text).toContain('I received the file "image.jpg"')
    expect(s.emu.requests.slice(before).map((r) => r.path)).toEqual(['/v1/files/upload', '/v3/chat'])
  })

  it('an http(s) image is fetched (redirects followed), uploaded and named after its URL', async () => {
    const before = s.emu.requests.length
    const r = await s.client.chat.completions.create({ model: 'bot-echo', messages: withImage(`${img.url}/old.png`) })
    expect(img.hits.slice(-2)).toEqual(['/old.png', '/cat.png'])
    expect(uploads(before)[0]!.body).toMatchObject({ fileName: 'cat.png', bytes: PNG.length })
    expect(r.choices[0]!.message.content).toContain('I received the file "cat.png"')
  })

  it('a URL that cannot be fetched is a clear 400 before anything reaches Coze, without the remote status or errno', async () => {
    const closedPort = `http://127.0.0.1:1/x.png`
    for (const [url, why] of [[`${img.url}/missing`, /could not fetch the image at http:\/\/127\.0\.0\.1:\d+\/missing$/], [closedPort, /could not fetch the image at http:\/\/127\.0\.0\.1:1\/x\.png$/], [`${img.url}/hang`, /within 2000 ms/], ['ftp://example.com/a.png', /http\(s\) URL/]] as const) {
      const before = s.emu.requests.length
      const err = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: withImage(url) }))
      expect(err.status).toBe(400)
      expect(err.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_image_url', param: 'messages[0].content[1].image_url.url' })
      expect(err.message).toMatch(why)
      expect(err.message).not.toMatch(/\b404\b|ECONNREFUSED|errno/i)
      expect(s.emu.requests.length).toBe(before)
    }
  })

  it('an image over OPENAI_IMAGE_MAX_MB is a 400 image_too_large, inline or fetched, declared or not', async () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 1)
    for (const url of [dataUrl(big), `${img.url}/big.png`, `${img.url}/chunked-big`]) {
      const before = s.emu.requests.length
      const err = await failing(s.client.chat.completions.create({ model: 'bot-echo', messages: withImage(url) }))
      expect(err.status).toBe(400)
      expect(err.code).toBe('image_too_large')
      expect(err.message).toContain('1 MB')
      expect(s.emu.requests.length).toBe(before)
    }
  })

  it('Coze\'s content rules are checked before any upload: an image with no text anywhere is a 400', async () => {
    const before = s.emu.requests.length
    const err = await failing(s.client.chat.completions.create({
      model: 'bot-echo', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl(PNG) } }] }]
    }))
    expect(err.status).toBe(400)
    expect(err.message).toMatch(/text/)
    expect(s.emu.requests.length).toBe(before)

    // The error names the message by its index in the request, even after dropped tool turns.
    const later = await failing(s.client.chat.completions.create({
      model: 'bot-echo',
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        { role: 'assistant', content: 'It is sunny.' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: dataUrl(PNG) } }] }
      ]
    }))
    expect(later.status).toBe(400)
    expect(later.message).toContain('messages[4]')
  })

  it('by default (OPENAI_IMAGE_ALLOW_PRIVATE=false), loopback, private and link-local hosts are refused in every spelling (SSRF)', async () => {
    const locked = await startOpenAIStack()
    try {
      const port = new URL(img.url).port
      for (const url of [`${img.url}/cat.png`, `http://localhost:${port}/cat.png`, `http://0x7f.1:${port}/cat.png`, `http://2130706433:${port}/cat.png`,
        `http://[::ffff:127.0.0.1]:${port}/cat.png`, `http://0177.0.0.1:${port}/cat.png`, 'http://[::1]/a.png', 'http://10.0.0.1/a.png', 'http://169.254.169.254/latest/meta-data']) {
        const hitsBefore = img.hits.length
        const err = await failing(locked.client.chat.completions.create({ model: 'bot-echo', messages: withImage(url) }))
        expect(err.status).toBe(400)
        expect(err.message).toContain('could not fetch the image')
        expect(err.message).toContain('OPENAI_IMAGE_ALLOW_PRIVATE')
        expect(img.hits.length).toBe(hitsBefore)
      }
    } finally {
      await locked.close()
    }
  })
})
