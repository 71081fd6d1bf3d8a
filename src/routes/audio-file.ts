import type { Readable } from 'node:stream'
import { errors } from '../errors.js'
import type { FilePart } from './multipart-file.js'

const AUDIO_EXT = /\.(mp3|wav|ogg|opus)$/i
const AUDIO_TYPE = /^audio\/(mpeg|mp3|wav|wave|x-wav|ogg|opus)$/i

/** Coze transcribes mp3, wav and ogg: anything else is a 400 before the upload starts. */
export function audioFile (part: FilePart): Readable {
  if (!AUDIO_EXT.test(part.fileName) && !AUDIO_TYPE.test(part.mimetype)) {
    throw errors.invalid(`"${part.fileName}" is not an mp3, wav or ogg file: send the audio as one of those (by file name or Content-Type).`)
  }
  return part.body
}
