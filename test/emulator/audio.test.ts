import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { APIError, BadRequestError, CozeAPI, InternalServerError, RateLimitError, TimeoutError } from '@coze/api'
import { CUSTOM_VOICE_ID, DEFAULT_VOICE_ID, VOICES, VOICE_ID_SMALL } from '../../src/emulator/index.js'
import type { Emulator } from '../../src/emulator/index.js'
import { caught, raw, useEmulator } from './helpers.js'

let emu: Emulator
let coze: CozeAPI

useEmulator((e, c) => { emu = e; coze = c })

const speak = async (params: Record<string, unknown>): Promise<Buffer> =>
  Buffer.from(await coze.audio.speech.create({ input: 'hello world', voice_id: DEFAULT_VOICE_ID, ...params } as any))

// An independent reading of the formats, so the tests do not reuse the emulator's encoder.

interface Wav { format: number; channels: number; sampleRate: number; byteRate: number; blockAlign: number; bits: number; dataBytes: number; samples: Buffer }

function parseWav (b: Buffer): Wav {
  expect(b.toString('ascii', 0, 4)).toBe('RIFF')
  expect(b.readUInt32LE(4)).toBe(b.length - 8)
  expect(b.toString('ascii', 8, 12)).toBe('WAVE')
  let pos = 12
  let fmt: Omit<Wav, 'dataBytes' | 'samples'> | undefined
  while (pos + 8 <= b.length) {
    const id = b.toString('ascii', pos, pos + 4)
    const size = b.readUInt32LE(pos + 4)
    const body = b.subarray(pos + 8, pos + 8 + size)
    if (id === 'fmt ') fmt = { format: body.readUInt16LE(0), channels: body.readUInt16LE(2), sampleRate: body.readUInt32LE(4), byteRate: body.readUInt32LE(8), blockAlign: body.readUInt16LE(12), bits: body.readUInt16LE(14) }
    if (id === 'data') return { ...fmt!, dataBytes: size, samples: body }
    pos += 8 + size
  }
  throw new Error('no data chunk')
}

const MP3_RATES: Record<number, number[]> = { 3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000] }
const MP3_KBPS: Record<number, number[]> = {
  3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  0: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
}

/** Walks MPEG audio frames: each must start with the frame sync and be Layer III; returns seconds of audio. */
function walkMp3 (b: Buffer): { frames: number; seconds: number; sampleRate: number } {
  let pos = 0
  let frames = 0
  let seconds = 0
  let sampleRate = 0
  while (pos < b.length) {
    expect(b[pos]).toBe(0xff)
    expect(b[pos + 1]! & 0xe0).toBe(0xe0)
    const version = (b[pos + 1]! >> 3) & 3
    expect(version).not.toBe(1) // reserved
    expect((b[pos + 1]! >> 1) & 3).toBe(1) // Layer III
    const kbps = MP3_KBPS[version]![b[pos + 2]! >> 4]!
    sampleRate = MP3_RATES[version]![(b[pos + 2]! >> 2) & 3]!
    expect(kbps).toBeGreaterThan(0)
    const padding = (b[pos + 2]! >> 1) & 1
    const spf = version === 3 ? 1152 : 576
    const len = Math.floor((spf / 8) * kbps * 1000 / sampleRate) + padding
    pos += len
    frames++
    seconds += spf / sampleRate
  }
  expect(pos).toBe(b.length)
  return { frames, seconds, sampleRate }
}

function oggCrc (page: Buffer): number {
  let crc = 0
  for (const byte of page) {
    crc ^= byte << 24
    for (let i = 0; i < 8; i++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1
    crc >>>= 0
  }
  return crc
}

function walkOgg (b: Buffer): { packets: Buffer[]; flags: number[]; lastGranule: bigint } {
  let pos = 0
  const packets: Buffer[] = []
  const flags: number[] = []
  let lastGranule = 0n
  let partial: Buffer[] = []
  while (pos < b.length) {
    expect(b.toString('ascii', pos, pos + 4)).toBe('OggS')
    const nseg = b[pos + 26]!
    const lacing = [...b.subarray(pos + 27, pos + 27 + nseg)]
    const size = 27 + nseg + lacing.reduce((a, c) => a + c, 0)
    const page = Buffer.from(b.subarray(pos, pos + size))
    const crc = page.readUInt32LE(22)
    page.writeUInt32LE(0, 22)
    expect(oggCrc(page)).toBe(crc)
    flags.push(b[pos + 5]!)
    lastGranule = b.readBigInt64LE(pos + 6)
    let off = pos + 27 + nseg
    for (const l of lacing) {
      partial.push(b.subarray(off, off + l))
      off += l
      if (l < 255) { packets.push(Buffer.concat(partial)); partial = [] }
    }
    pos += size
  }
  expect(pos).toBe(b.length)
  return { packets, flags, lastGranule }
}

describe('POST /v1/audio/speech through audio.speech.create()', () => {
  it('wav: a RIFF/WAVE PCM 16-bit mono file of silence at 24 kHz by default', async () => {
    const wav = parseWav(await speak({ response_format: 'wav' }))
    expect(wav).toMatchObject({ format: 1, channels: 1, sampleRate: 24000, byteRate: 48000, blockAlign: 2, bits: 16 })
    expect(wav.samples.every((x) => x === 0)).toBe(true)
    expect(wav.dataBytes % 2).toBe(0)
  })

  it('wav: the duration follows the text length and the speed; sample_rate is honoured', async () => {
    const secs = (w: Wav): number => w.dataBytes / w.byteRate
    const short = secs(parseWav(await speak({ response_format: 'wav', input: 'hi' })))
    const long = secs(parseWav(await speak({ response_format: 'wav', input: 'a much longer sentence to say out loud' })))
    expect(short).toBeGreaterThan(0.1)
    expect(long).toBeGreaterThan(short * 3)
    const fast = secs(parseWav(await speak({ response_format: 'wav', input: 'a much longer sentence to say out loud', speed: 2 })))
    expect(fast).toBeCloseTo(long / 2, 2)
    const w16 = parseWav(await speak({ response_format: 'wav', sample_rate: 16000 }))
    expect(w16.sampleRate).toBe(16000)
    expect(secs(w16)).toBeCloseTo(secs(parseWav(await speak({ response_format: 'wav' }))), 2)
  })

  it('mp3 is the default: back-to-back Layer III frames starting with the frame sync, as long as the text says', async () => {
    const mp3 = walkMp3(await speak({}))
    expect(mp3.sampleRate).toBe(24000)
    const wavSecs = ((w) => w.dataBytes / w.byteRate)(parseWav(await speak({ response_format: 'wav' })))
    expect(mp3.seconds).toBeGreaterThanOrEqual(wavSecs)
    expect(mp3.seconds - wavSecs).toBeLessThan(576 / 24000 + 1e-9)
    for (const rate of [8000, 22050, 44100, 48000]) expect(walkMp3(await speak({ sample_rate: rate })).sampleRate).toBe(rate)
    const longer = walkMp3(await speak({ input: 'x'.repeat(200) }))
    expect(longer.frames).toBeGreaterThan(mp3.frames * 5)
  })

  it('pcm: raw 16-bit samples of silence', async () => {
    const pcm = await speak({ response_format: 'pcm' })
    const wav = parseWav(await speak({ response_format: 'wav' }))
    expect(pcm.length).toBe(wav.dataBytes)
    expect(pcm.every((x) => x === 0)).toBe(true)
  })

  it('ogg / opus / ogg_opus: an Ogg Opus stream (OpusHead, OpusTags, 20 ms packets) with valid page CRCs', async () => {
    for (const format of ['ogg', 'opus', 'ogg_opus']) {
      const ogg = walkOgg(await speak({ response_format: format }))
      expect(ogg.packets[0]!.toString('ascii', 0, 8)).toBe('OpusHead')
      expect(ogg.packets[0]![9]).toBe(1) // mono
      expect(ogg.packets[1]!.toString('ascii', 0, 8)).toBe('OpusTags')
      expect(ogg.flags[0]).toBe(0x02)
      expect(ogg.flags.at(-1)).toBe(0x04)
      const audio = ogg.packets.slice(2)
      expect(audio.length).toBeGreaterThan(10)
      const preSkip = ogg.packets[0]!.readUInt16LE(10)
      expect(Number(ogg.lastGranule) - preSkip).toBe(audio.length * 960)
    }
  })

  it('answers raw bytes with an audio content-type and the logid header (never the JSON envelope)', async () => {
    const types: Record<string, string> = { mp3: 'audio/mpeg', wav: 'audio/wav', pcm: 'audio/pcm', ogg_opus: 'audio/ogg' }
    for (const [format, type] of Object.entries(types)) {
      const r = await fetch(emu.url + '/v1/audio/speech', {
        method: 'POST',
        headers: { authorization: `Bearer ${emu.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: 'hi', voice_id: DEFAULT_VOICE_ID, response_format: format })
      })
      expect(r.headers.get('content-type')).toBe(type)
      expect(r.headers.get('x-tt-logid')).toMatch(/^\d{14}/)
      const bytes = Buffer.from(await r.arrayBuffer())
      expect(Number(r.headers.get('content-length'))).toBe(bytes.length)
    }
  })

  it('validation errors are HTTP 200 JSON {code:4000}; the SDK returns them as bytes instead of throwing', async () => {
    const bad: Array<Record<string, unknown>> = [
      { input: '' },
      { input: 'x'.repeat(1025) },
      { voice_id: 'no-such-voice' },
      { speed: 0.1 },
      { speed: 3.5 },
      { response_format: 'flac' },
      { sample_rate: 11000 }
    ]
    for (const params of bad) {
      const body = JSON.parse((await speak(params)).toString('utf8'))
      expect(body).toMatchObject({ code: 4000, msg: expect.any(String), detail: { logid: expect.any(String) } })
    }
    // at the limits it speaks
    expect(walkMp3(await speak({ input: '字'.repeat(1024), speed: 3 })).frames).toBeGreaterThan(0)
    expect(walkMp3(await speak({ speed: 0.2, voice_id: CUSTOM_VOICE_ID })).frames).toBeGreaterThan(0)
  })
})

describe('POST /v1/audio/transcriptions through audio.transcriptions.create()', () => {
  it('names the size of the uploaded file (Buffer and file stream)', async () => {
    const wav = await speak({ response_format: 'wav' })
    expect(await coze.audio.transcriptions.create({ file: wav })).toEqual({ text: `Transcribed ${wav.length} bytes of audio` })
    const dir = mkdtempSync(join(tmpdir(), 'emu-audio-'))
    const path = join(dir, 'clip.mp3')
    const mp3 = await speak({})
    writeFileSync(path, mp3)
    expect((await coze.audio.transcriptions.create({ file: createReadStream(path) })).text).toBe(`Transcribed ${mp3.length} bytes of audio`)
    expect(emu.requests.at(-1)!.body).toMatchObject({ fileName: 'clip.mp3', bytes: mp3.length })
  })

  it('no file is 4000 (BadRequestError)', async () => {
    const err = await caught(coze.audio.transcriptions.create({} as any))
    expect(err).toBeInstanceOf(BadRequestError)
    expect(err.code).toBe(4000)
  })
})

describe('GET /v1/audio/voices through audio.voices.list()', () => {
  it('lists the fixed voices with every documented field', async () => {
    const res = await coze.audio.voices.list()
    expect(res.has_more).toBe(false)
    expect(res.voice_list.map((v) => v.voice_id)).toEqual(VOICES.map((v) => v.voice_id))
    for (const v of res.voice_list) {
      expect(v).toMatchObject({
        voice_id: expect.any(String), name: expect.any(String), language_code: expect.any(String), language_name: expect.any(String),
        preview_text: expect.any(String), preview_audio: expect.stringMatching(/^https:/), is_system_voice: expect.any(Boolean),
        create_time: expect.any(Number), update_time: expect.any(Number)
      })
    }
  })

  it('pages with page_num/page_size and filters system voices and model_type', async () => {
    const p1 = await coze.audio.voices.list({ page_num: 1, page_size: 3 })
    expect(p1.voice_list).toHaveLength(3)
    expect(p1.has_more).toBe(true)
    const p2 = await coze.audio.voices.list({ page_num: 2, page_size: 3 })
    expect(p2.voice_list.map((v) => v.voice_id)).toEqual([VOICES[3]!.voice_id])
    expect(p2.has_more).toBe(false)
    expect((await coze.audio.voices.list({ filter_system_voice: true })).voice_list.map((v) => v.voice_id)).toEqual([CUSTOM_VOICE_ID])
    expect((await coze.audio.voices.list({ model_type: 'small' })).voice_list.map((v) => v.voice_id)).toEqual([VOICE_ID_SMALL])
    expect(await caught(coze.audio.voices.list({ page_size: 101 }))).toBeInstanceOf(BadRequestError)
  })
})

describe('faults on the audio endpoints', () => {
  it('coze_error by path: voices and transcriptions throw by code; speech returns the error body as bytes', async () => {
    emu.faults.inject({ kind: 'coze_error', code: 4013 }, { path: /^\/v1\/audio\//, times: 3 })
    expect(await caught(coze.audio.voices.list())).toBeInstanceOf(RateLimitError)
    expect(await caught(coze.audio.transcriptions.create({ file: Buffer.from('abc') }))).toBeInstanceOf(RateLimitError)
    expect(JSON.parse((await speak({})).toString()).code).toBe(4013)
  })

  it('http_status throws by status on all three (with Retry-After when asked)', async () => {
    emu.faults.inject({ kind: 'http_status', status: 429, retryAfter: 7 }, { path: '/v1/audio/speech', times: 1 })
    const err = await caught(speak({}))
    expect(err).toBeInstanceOf(RateLimitError)
    expect(err.headers['retry-after']).toBe('7')
    emu.faults.inject({ kind: 'http_status', status: 503 }, { path: '/v1/audio/transcriptions', times: 1 })
    expect(await caught(coze.audio.transcriptions.create({ file: Buffer.from('abc') }))).toBeInstanceOf(InternalServerError)
    emu.faults.inject({ kind: 'http_status', status: 500 }, { path: '/v1/audio/voices', times: 1 })
    expect(await caught(coze.audio.voices.list())).toBeInstanceOf(InternalServerError)
  })

  it('hang on each endpoint fires the SDK timeout', async () => {
    emu.faults.inject({ kind: 'hang' }, { path: /^\/v1\/audio\//, times: 3 })
    expect(await caught(coze.audio.speech.create({ input: 'x', voice_id: DEFAULT_VOICE_ID }, { timeout: 100 }))).toBeInstanceOf(TimeoutError)
    expect(await caught(coze.audio.transcriptions.create({ file: Buffer.from('abc') }, { timeout: 100 }))).toBeInstanceOf(TimeoutError)
    expect(await caught(coze.audio.voices.list({}, { timeout: 100 }))).toBeInstanceOf(TimeoutError)
  })

  it('reserved voice ids work without emulator access: fault-http-429, fault-latency-<ms>, fault-truncate', async () => {
    expect(await caught(speak({ voice_id: 'fault-http-429' }))).toBeInstanceOf(RateLimitError)
    const t = Date.now()
    expect(walkMp3(await speak({ voice_id: 'fault-latency-100' })).frames).toBeGreaterThan(0)
    expect(Date.now() - t).toBeGreaterThanOrEqual(90)
    const cut = await caught(speak({ voice_id: 'fault-truncate', response_format: 'wav' }))
    expect(cut).toBeInstanceOf(APIError)
    expect(cut.status).toBe(200)
  })

  it('raw: a truncate fault announces the full length and cuts the body', async () => {
    emu.faults.inject({ kind: 'truncate' }, { path: '/v1/audio/speech', times: 1 })
    await expect(raw(emu, 'POST', '/v1/audio/speech', { input: 'hello', voice_id: DEFAULT_VOICE_ID })).rejects.toThrow()
  })
})
