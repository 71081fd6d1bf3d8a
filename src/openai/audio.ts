// OpenAI audio requests → Coze's: voices through COZE_VOICE_MAP, formats and speed checked
// before Coze, each refusal naming its OpenAI `param`.
import { Type, type Static } from 'typebox'
import type { SpeechFormat, SpeechRequest } from '../coze/audio.js'
import { InvalidParamError } from './errors.js'

export const SpeechBodySchema = Type.Object({
  model: Type.Optional(Type.String({ description: 'Accepted and ignored: Coze chooses the speech model by the voice' })),
  input: Type.String({ description: 'The text to speak, 1 to 1,024 characters' }),
  voice: Type.String({ minLength: 1, description: 'A Coze voice_id, or a name from COZE_VOICE_MAP (e.g. "alloy")' }),
  response_format: Type.Optional(Type.String({ description: 'mp3 (default), wav, pcm or opus (Ogg Opus); aac and flac are not offered by Coze' })),
  speed: Type.Optional(Type.Number({ description: '0.2 to 3 (Coze\'s range)' }))
}, { additionalProperties: true, examples: [{ model: 'tts-1', input: 'Hello!', voice: 'alloy' }] })
export type OpenAISpeechBody = Static<typeof SpeechBodySchema>

const FORMATS: Record<string, SpeechFormat> = { mp3: 'mp3', wav: 'wav', pcm: 'pcm', opus: 'ogg_opus' }

export function speechRequest (body: OpenAISpeechBody, voiceMap: Readonly<Record<string, string>>): SpeechRequest {
  const input = body.input
  if (!input.trim()) throw new InvalidParamError('input', 'input must not be empty.')
  if ([...input].length > 1024) throw new InvalidParamError('input', `input is ${[...input].length} characters long; Coze speaks at most 1,024 per request.`)
  const format = body.response_format ?? 'mp3'
  if (!Object.hasOwn(FORMATS, format)) throw new InvalidParamError('response_format', `response_format "${format}" is not offered by Coze: use mp3, wav, pcm or opus.`)
  if (body.speed !== undefined && (body.speed < 0.2 || body.speed > 3)) throw new InvalidParamError('speed', `speed must be between 0.2 and 3 (got ${body.speed}).`)
  return {
    input,
    voice_id: Object.hasOwn(voiceMap, body.voice) ? voiceMap[body.voice]! : body.voice,
    response_format: FORMATS[format],
    ...(body.speed !== undefined ? { speed: body.speed } : {})
  }
}
