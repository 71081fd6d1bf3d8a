// Audio: text to speech (bytes checked to be a real file of the asked format), speech to
// text with its size limits, the voice list, and the OpenAI-compatible routes through the
// official `openai` SDK.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import OpenAI, { toFile } from 'openai'
import { DEFAULT_VOICE_ID, VOICES } from '../../src/emulator/index.js'
import { startOpenAIStack, rejection, type OpenAIStack } from '../helpers/openai.js'

/** RIFF/WAVE header fields of a PCM file. */
function wavHeader (b: Buffer) {
  return {
    riff: b.toString('ascii', 0, 4),
    wave: b.toString('ascii', 8, 12),
    format: b.readUInt16LE(20),
    channels: b.readUInt16LE(22),
    sampleRate: b.readUInt32LE(24),
    bitsPerSample: b.readUInt16LE(34),
    dataBytes: b.readUInt32LE(40)
  }
}

/** True when the bytes start with an MPEG audio frame (11-bit frame sync), after an optional ID3 tag. */
function mp3FrameSync (b: Buffer): boolean {
  let i = 0
  if (b.toString('ascii', 0, 3) === 'ID3') i = 10 + ((b[6]! << 21) | (b[7]! << 14) | (b[8]! << 7) | b[9]!)
  return b[i] === 0xff && (b[i + 1]! & 0xe0) === 0xe0
}

function multipart (name: string, bytes: Buffer, fields: Record<string, string> = {}) {
  const boundary = '----audiotest' + Math.random().toString(16).slice(2)
  const parts: Buffer[] = []
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`))
  parts.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${name}"\r\ncontent-type: application/octet-stream\r\n\r\n`), bytes, Buffer.from(`\r\n--${boundary}--\r\n`))
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }
}

describe('audio', () => {
  let s: OpenAIStack
  beforeAll(async () => { s = await startOpenAIStack({ COZE_VOICE_MAP: JSON.stringify({ alloy: DEFAULT_VOICE_ID }), MAX_UPLOAD_MB: '1' }) })
  afterAll(async () => { await s.close() })

  const speech = (payload: Record<string, unknown>) => s.app.inject({ method: 'POST', url: '/api/v1/audio/speech', payload })

  it('POST /api/v1/audio/speech answers a WAV whose header is valid and whose length follows the text', async () => {
    const short = await speech({ input: 'Hi', voice_id: DEFAULT_VOICE_ID, response_format: 'wav', sample_rate: 16000 })
    expect(short.statusCode).toBe(200)
    expect(short.headers['content-type']).toBe('audio/wav')
    const h = wavHeader(short.rawPayload)
    expect(h).toMatchObject({ riff: 'RIFF', wave: 'WAVE', format: 1, channels: 1, sampleRate: 16000, bitsPerSample: 16 })
    expect(h.dataBytes).toBe(short.rawPayload.length - 44)
    const long = await speech({ input: 'A much longer sentence to speak aloud.', voice_id: DEFAULT_VOICE_ID, response_format: 'wav', sample_rate: 16000 })
    expect(wavHeader(long.rawPayload).dataBytes).toBeGreaterThan(h.dataBytes)
  })

  it('mp3 is the default, and is MPEG audio', async () => {
    const r = await speech({ input: '你好', voice_id: DEFAULT_VOICE_ID })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('audio/mpeg')
    expect(mp3FrameSync(r.rawPayload)).toBe(true)
  })

  it.each([
    ['empty input', { input: '', voice_id: DEFAULT_VOICE_ID }, /input/],
    ['1,025 characters', { input: '字'.repeat(1025), voice_id: DEFAULT_VOICE_ID }, /input/],
    ['an unknown format', { input: 'hi', voice_id: DEFAULT_VOICE_ID, response_format: 'aac' }, /response_format/],
    ['speed 3.5', { input: 'hi', voice_id: DEFAULT_VOICE_ID, speed: 3.5 }, /speed/],
    ['speed 0.1', { input: 'hi', voice_id: DEFAULT_VOICE_ID, speed: 0.1 }, /speed/]
  ])('bad input (%s) is a 400 envelope before Coze', async (_what, payload, field) => {
    const before = s.emu.requests.length
    const r = await speech(payload)
    expect(r.statusCode).toBe(400)
    expect(r.json()).toMatchObject({ success: false, code: 'VALIDATION_ERROR' })
    expect(r.json().message).toMatch(field)
    expect(s.emu.requests.length).toBe(before)
  })

  it('an unknown voice is Coze\'s 400, with its logid, not audio bytes', async () => {
    const r = await speech({ input: 'hi', voice_id: 'no-such-voice' })
    expect(r.statusCode).toBe(400)
    expect(r.headers['content-type']).toMatch(/application\/json/)
    expect(r.json()).toMatchObject({ success: false, code: 'UPSTREAM_BAD_REQUEST', coze_code: 4000 })
    expect(r.json().logid).toBeTruthy()
  })

  it('POST /api/v1/audio/transcriptions streams the file to Coze and answers its text; size and type limits hold', async () => {
    const audio = Buffer.alloc(5000, 1)
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/audio/transcriptions', ...multipart('voice.wav', audio) })
    expect(r.statusCode).toBe(200)
    expect(r.json().data).toEqual({ text: 'Transcribed 5000 bytes of audio' })
    const sent = s.emu.requests.filter((q) => q.path === '/v1/audio/transcriptions').at(-1)!
    expect(sent.body).toMatchObject({ fileName: 'voice.wav', bytes: 5000 })

    const big = await s.app.inject({ method: 'POST', url: '/api/v1/audio/transcriptions', ...multipart('voice.mp3', Buffer.alloc(1024 * 1024 + 10, 1)) })
    expect(big.statusCode).toBe(413)
    expect(big.json()).toMatchObject({ success: false, code: 'PAYLOAD_TOO_LARGE' })

    const text = await s.app.inject({ method: 'POST', url: '/api/v1/audio/transcriptions', ...multipart('notes.txt', Buffer.from('hello')) })
    expect(text.statusCode).toBe(400)
    expect(text.json().message).toMatch(/mp3, wav or ogg/)
  })

  it('GET /api/v1/audio/voices lists the voices with paging', async () => {
    const r = await s.app.inject({ url: '/api/v1/audio/voices?page_num=1&page_size=2' })
    expect(r.statusCode).toBe(200)
    const body = r.json()
    expect(body.data).toHaveLength(2)
    expect(body.data[0]).toEqual({
      voice_id: VOICES[0]!.voice_id, name: VOICES[0]!.name, language_code: VOICES[0]!.language_code, preview_audio: expect.stringMatching(/^https?:\/\//), is_system_voice: true
    })
    expect(body.pagination).toEqual({ page_num: 1, page_size: 2, has_more: true })
  })

  it('the openai SDK: audio.speech.create (voice alias, wav and mp3) and audio.transcriptions.create', async () => {
    const wav = Buffer.from(await (await s.client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello there', response_format: 'wav' })).arrayBuffer())
    expect(wavHeader(wav)).toMatchObject({ riff: 'RIFF', wave: 'WAVE', channels: 1, bitsPerSample: 16 })
    expect(s.emu.requests.filter((q) => q.path === '/v1/audio/speech').at(-1)!.body).toMatchObject({ voice_id: DEFAULT_VOICE_ID, response_format: 'wav' })
    const mp3 = Buffer.from(await (await s.client.audio.speech.create({ model: 'tts-1', voice: DEFAULT_VOICE_ID, input: 'Hello' })).arrayBuffer())
    expect(mp3FrameSync(mp3)).toBe(true)

    const t = await s.client.audio.transcriptions.create({ file: await toFile(wav, 'speech.wav'), model: 'whisper-1' })
    expect(t.text).toBe(`Transcribed ${wav.length} bytes of audio`)

    const noRetry = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'k', maxRetries: 0 })
    const bad = await rejection(noRetry.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'x', response_format: 'flac' }))
    expect(bad.status).toBe(400)
    expect((bad.error as { param?: string }).param).toBe('response_format')
  })
})
