// Coze audio: text to speech (the audio bytes streamed through), speech to text, voices.
import type { Readable } from 'node:stream'
import { Type } from 'typebox'
import { errors } from '../errors.js'
import { cozeCall, cozeUpload, type CallOptions, type CozeClient } from './client.js'
import { decoder } from './decode.js'
import { fromCozeCode } from './errors.js'

export const SPEECH_FORMATS = ['mp3', 'wav', 'pcm', 'ogg_opus'] as const
export type SpeechFormat = typeof SPEECH_FORMATS[number]

export interface SpeechRequest {
  input: string
  voice_id: string
  response_format?: SpeechFormat | undefined
  speed?: number | undefined
  sample_rate?: number | undefined
}

export interface SpeechAudio { body: Readable, contentType: string }

const CONTENT_TYPES: Record<SpeechFormat, string> = { mp3: 'audio/mpeg', wav: 'audio/wav', pcm: 'audio/pcm', ogg_opus: 'audio/ogg' }

/** The most a JSON error body is read to find its code. */
const MAX_ERROR_BODY = 64 * 1024

const decodeError = decoder(Type.Object({ code: Type.Number(), msg: Type.Optional(Type.String()) }), 'an audio answer')
const decodeText = decoder(Type.Object({ text: Type.String() }), 'a transcription')
const Voice = Type.Object({
  voice_id: Type.String(),
  name: Type.String(),
  language_code: Type.Optional(Type.String()),
  preview_audio: Type.Optional(Type.String()),
  is_system_voice: Type.Optional(Type.Boolean())
})
const decodeVoices = decoder(Type.Object({ voice_list: Type.Optional(Type.Union([Type.Null(), Type.Array(Voice)])), has_more: Type.Optional(Type.Boolean()) }), 'a voice list')

export interface VoiceInfo { voice_id: string, name: string, language_code: string, preview_audio: string, is_system_voice: boolean }

/**
 * Text to speech. The SDK's audio.speech.create buffers the whole file and hands back a
 * Coze JSON error (HTTP 200 {code}) as if it were audio, so the call is made through the
 * SDK's post() with a stream response, and a JSON answer is read as the error it is.
 */
export async function synthesize (coze: CozeClient, req: SpeechRequest, o: CallOptions = {}): Promise<SpeechAudio> {
  const format = req.response_format ?? 'mp3'
  let contentType = ''
  let logid: string | undefined
  const body = { ...req, response_format: format, sample_rate: req.sample_rate ?? 24000 }
  const data = await cozeCall(coze, {
    ...o,
    onHeaders: (h) => { contentType = String(h['content-type'] ?? '') },
    onLogid: (l) => { logid = l; o.onLogid?.(l) }
  }, (opts, api) => api.post<typeof body, Readable>('/v1/audio/speech', body, false, { ...opts, responseType: 'stream' } as typeof opts))
  if (contentType.includes('application/json')) {
    const e = decodeError(parseJson(await readText(data)), logid)
    throw e.code !== 0 ? fromCozeCode(e.code, e.msg ?? '', logid) : errors.upstreamMalformed('a speech answer without audio', logid)
  }
  return { body: data, contentType: CONTENT_TYPES[format] }
}

/** Speech to text; the file is streamed to Coze, and COZE_REQUEST_TIMEOUT_MS bounds the answer once it is sent. */
export async function transcribe (coze: CozeClient, file: Readable, fileName: string, o: CallOptions = {}): Promise<string> {
  Object.assign(file, { path: fileName })
  return decodeText(await cozeUpload(coze, file, o, (opts, api) => api.audio.transcriptions.create({ file }, opts))).text
}

export async function listVoices (coze: CozeClient, page: { page_num: number, page_size: number }, o: CallOptions = {}): Promise<{ items: VoiceInfo[], has_more: boolean }> {
  const res = decodeVoices(await cozeCall(coze, o, (opts, api) => api.audio.voices.list(page, opts)))
  return {
    items: (res.voice_list ?? []).map((v) => ({
      voice_id: v.voice_id,
      name: v.name,
      language_code: v.language_code ?? '',
      preview_audio: v.preview_audio ?? '',
      is_system_voice: v.is_system_voice === true
    })),
    has_more: res.has_more === true
  }
}

function parseJson (text: string): unknown {
  try { return JSON.parse(text) } catch { return undefined }
}

async function readText (stream: Readable): Promise<string> {
  let text = ''
  for await (const chunk of stream) {
    text += String(chunk)
    if (text.length > MAX_ERROR_BODY) break
  }
  stream.destroy()
  return text
}
