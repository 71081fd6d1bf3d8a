// Schemas of the audio routes (/api/v1/audio/*).
import { Type, type Static } from 'typebox'
import { SPEECH_FORMATS } from '../coze/audio.js'
import { Envelope, ErrorRef, PageNum, PageSize, UpstreamErrors } from './common.js'

export const SpeechBodySchema = Type.Object({
  input: Type.String({ minLength: 1, maxLength: 1024, description: 'The text to speak, 1 to 1,024 characters' }),
  voice_id: Type.String({ minLength: 1, maxLength: 128, description: 'A Coze voice_id: see GET /api/v1/audio/voices' }),
  response_format: Type.Optional(Type.Union(SPEECH_FORMATS.map((f) => Type.Literal(f)), { description: 'Default mp3' })),
  speed: Type.Optional(Type.Number({ minimum: 0.2, maximum: 3, description: '0.2 to 3, default 1' })),
  sample_rate: Type.Optional(Type.Union([8000, 16000, 22050, 24000, 32000, 44100, 48000].map((r) => Type.Literal(r)), { description: 'Hz, default 24000' }))
}, { examples: [{ input: '你好，欢迎使用扣子。', voice_id: '7426720361733046281', response_format: 'mp3' }] })
export type SpeechBody = Static<typeof SpeechBodySchema>

const Audio = { schema: { type: 'string', format: 'binary' } }

export const SpeechResponses = {
  200: {
    description: 'The audio file, streamed: audio/mpeg (mp3), audio/wav, audio/pcm (16-bit mono little-endian) or audio/ogg (ogg_opus)',
    content: { 'audio/mpeg': Audio, 'audio/wav': Audio, 'audio/pcm': Audio, 'audio/ogg': Audio }
  },
  ...UpstreamErrors
}

/** The multipart/form-data fields of a transcription (for the OpenAPI document: the route reads the stream). */
export const TranscriptionForm = Type.Object({
  file: Type.String({ format: 'binary', description: 'The audio: mp3, wav or ogg (by file name or Content-Type)' })
}, { required: ['file'] })

export const TranscriptionResponses = {
  200: Envelope(Type.Object({ text: Type.String() }, { examples: [{ text: '你好，我想查询明天的天气。' }] })),
  413: ErrorRef,
  415: ErrorRef,
  ...UpstreamErrors
}

export const VoicesQuerySchema = Type.Object({
  page_num: PageNum(),
  page_size: PageSize(100)
})

const Voice = Type.Object({
  voice_id: Type.String(),
  name: Type.String(),
  language_code: Type.String(),
  preview_audio: Type.String({ description: 'URL of a sample' }),
  is_system_voice: Type.Boolean()
}, { examples: [{ voice_id: '7426720361733046281', name: '通用女声', language_code: 'zh', preview_audio: 'https://example.com/preview.mp3', is_system_voice: true }] })

export const VoicesResponses = {
  200: Envelope(Type.Array(Voice), { pagination: Type.Object({ page_num: Type.Integer(), page_size: Type.Integer(), has_more: Type.Boolean() }) }),
  ...UpstreamErrors
}
