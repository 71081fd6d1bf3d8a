// File upload to Coze through the SDK, streaming. The SDK builds the multipart body with
// axios.toFormData (form-data); a stream's `path` gives the part its filename and type.
import type { Readable } from 'node:stream'
import { Type } from 'typebox'
import { cozeCall, type CozeClient } from './client.js'
import { decoder } from './decode.js'

const decodeFile = decoder(Type.Object({
  id: Type.String({ minLength: 1 }),
  bytes: Type.Integer(),
  created_at: Type.Integer(),
  file_name: Type.Optional(Type.String())
}), 'an upload answer')

export interface UploadedFile { id: string, bytes: number, created_at: number, file_name?: string | undefined }

export async function uploadFile (coze: CozeClient, body: Readable, fileName: string, onLogid?: (l: string) => void): Promise<UploadedFile> {
  Object.assign(body, { path: fileName })
  // No request timeout: a large upload on a slow link legitimately takes long; the
  // client's own connection bounds it.
  return decodeFile(await cozeCall(coze, { stream: true, once: true, onLogid }, (opts) => coze.api.files.upload({ file: body as unknown as Blob }, opts)))
}
