/** The fixed voice catalogue of GET /v1/audio/voices (and the voice_ids /v1/audio/speech accepts). */

export interface VoiceDef {
  voice_id: string
  name: string
  language_code: string
  language_name: string
  preview_text: string
  is_system_voice: boolean
  model_type: 'big' | 'small'
}

export const DEFAULT_VOICE_ID = '7500000000000000301'
export const VOICE_ID_EN = '7500000000000000302'
export const VOICE_ID_SMALL = '7500000000000000303'
/** the one custom (cloned, non-system) voice */
export const CUSTOM_VOICE_ID = '7500000000000000304'

export const VOICES: VoiceDef[] = [
  { voice_id: DEFAULT_VOICE_ID, name: '通用女声', language_code: 'zh', language_name: '中文', preview_text: '你好，我是扣子模拟器的默认音色。', is_system_voice: true, model_type: 'big' },
  { voice_id: VOICE_ID_EN, name: 'Emma', language_code: 'en', language_name: 'English', preview_text: 'Hello, I am the English voice of the Coze emulator.', is_system_voice: true, model_type: 'big' },
  { voice_id: VOICE_ID_SMALL, name: '通用男声', language_code: 'zh', language_name: '中文', preview_text: '你好，我是一个小模型音色。', is_system_voice: true, model_type: 'small' },
  { voice_id: CUSTOM_VOICE_ID, name: 'My cloned voice', language_code: 'en', language_name: 'English', preview_text: 'Hello, this is a cloned voice.', is_system_voice: false, model_type: 'big' }
]

const VOICE_TIME = 1735689600 // 2025-01-01

export function findVoice (id: string): VoiceDef | undefined {
  return VOICES.find((v) => v.voice_id === id)
}

export function voiceView (v: VoiceDef): Record<string, unknown> {
  return {
    ...v,
    preview_audio: `https://example.invalid/voices/${v.voice_id}.mp3`,
    create_time: VOICE_TIME,
    update_time: VOICE_TIME,
    state: 'cloned',
    available_training_times: v.is_system_voice ? 0 : 9
  }
}
