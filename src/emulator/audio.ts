import type { Ctx, RouteDef } from './runtime.js'
import { SAMPLE_RATES, mp3Silence, oggOpusSilence, pcmSilence, wavSilence } from './audio-encode.js'
import { VOICES, findVoice, voiceView } from './voices.js'
import { badRequest } from './errors.js'
import { sendBytes, sendOk } from './respond.js'

export const MAX_SPEECH_INPUT_CHARS = 1024
export const MAX_TRANSCRIPTION_BYTES = 10 * 1024 * 1024

/** How long the synthesised silence lasts: 300 ms plus 60 ms per character, divided by speed. */
export function speechDurationMs (input: string, speed: number): number {
  return Math.round((300 + 60 * [...input].length) / speed)
}

interface Encoder { contentType: string; encode: (sampleRate: number, ms: number) => Buffer }

const MP3: Encoder = { contentType: 'audio/mpeg', encode: mp3Silence }
const OGG: Encoder = { contentType: 'audio/ogg', encode: oggOpusSilence }
const ENCODERS: Record<string, Encoder> = {
  mp3: MP3,
  wav: { contentType: 'audio/wav', encode: wavSilence },
  pcm: { contentType: 'audio/pcm', encode: pcmSilence },
  // the JS SDK names ogg and opus, cozepy and the docs ogg_opus: all are Ogg Opus
  ogg_opus: OGG,
  ogg: OGG,
  opus: OGG
}

function numberIn (v: unknown, name: string, min: number, max: number, def: number): number {
  if (v === undefined || v === null) return def
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw badRequest(`${name} must be a number in [${min}, ${max}]`)
  return v
}

/** POST /v1/audio/speech: raw audio bytes of silence whose length follows the text. */
function speech (ctx: Ctx): void {
  const { body } = ctx
  const input = body.input
  if (typeof input !== 'string' || input === '') throw badRequest('input is required')
  if ([...input].length > MAX_SPEECH_INPUT_CHARS) throw badRequest(`input must be at most ${MAX_SPEECH_INPUT_CHARS} characters`)
  const voiceId = typeof body.voice_id === 'string' ? body.voice_id : ''
  if (!voiceId) throw badRequest('voice_id is required')
  // reserved fault-… voice ids have played their fault already; they speak like the default voice
  if (!findVoice(voiceId) && !voiceId.startsWith('fault-')) throw badRequest(`voice_id ${voiceId} does not exist`)
  const format = body.response_format === undefined || body.response_format === null ? 'mp3' : String(body.response_format)
  const encoder = ENCODERS[format]
  if (!encoder) throw badRequest(`response_format must be one of ${Object.keys(ENCODERS).join(', ')}`)
  const sampleRate = numberIn(body.sample_rate, 'sample_rate', 8000, 48000, 24000)
  if (!(SAMPLE_RATES as readonly number[]).includes(sampleRate)) throw badRequest(`sample_rate must be one of ${SAMPLE_RATES.join(', ')}`)
  const speed = numberIn(body.speed, 'speed', 0.2, 3, 1)
  numberIn(body.emotion_scale, 'emotion_scale', 1, 5, 4)
  sendBytes(ctx.res, ctx.logid, encoder.contentType, encoder.encode(sampleRate, speechDurationMs(input, speed)), ctx.fault)
}

/** POST /v1/audio/transcriptions: multipart `file`; the text names its size. */
function transcriptions (ctx: Ctx): void {
  const up = ctx.upload
  if (!up) throw badRequest('multipart/form-data with a part named "file" is required')
  if (up.data.length === 0) throw badRequest('the audio file is empty')
  if (up.data.length > MAX_TRANSCRIPTION_BYTES) throw badRequest(`the audio file exceeds ${MAX_TRANSCRIPTION_BYTES} bytes`)
  sendOk(ctx.res, ctx.logid, { text: `Transcribed ${up.data.length} bytes of audio` }, ctx.fault)
}

/** GET /v1/audio/voices: page_num (from 1), page_size (1–100, default 100), filter_system_voice, model_type */
function voices (ctx: Ctx): void {
  const q = ctx.query
  const page = q.page_num === undefined ? 1 : Number(q.page_num)
  const size = q.page_size === undefined ? 100 : Number(q.page_size)
  if (!Number.isInteger(page) || page < 1) throw badRequest('page_num must be an integer > 0')
  if (!Number.isInteger(size) || size < 1 || size > 100) throw badRequest('page_size must be an integer in [1, 100]')
  if (q.model_type !== undefined && q.model_type !== '' && q.model_type !== 'big' && q.model_type !== 'small') throw badRequest('model_type must be big or small')
  const all = VOICES.filter((v) => !(q.filter_system_voice === 'true' && v.is_system_voice) && (!q.model_type || v.model_type === q.model_type))
  const items = all.slice((page - 1) * size, page * size)
  sendOk(ctx.res, ctx.logid, { voice_list: items.map(voiceView), has_more: page * size < all.length }, ctx.fault)
}

export const audioRoutes: RouteDef[] = [
  { method: 'POST', path: '/v1/audio/speech', handler: speech, faultIdField: 'voice_id' },
  { method: 'POST', path: '/v1/audio/transcriptions', handler: transcriptions, upload: true },
  { method: 'GET', path: '/v1/audio/voices', handler: voices }
]
