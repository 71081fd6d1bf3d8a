// File upload to Coze through the SDK, streaming. The SDK builds the multipart body with
// axios.toFormData (form-data); a stream's `path` gives the part its filename and type.
import type { Readable } from 'node:stream'
import { Type } from 'typebox'
import { cozeUpload, type CallOptions, type CozeClient } from './client.js'
import { decoder } from './decode.js'

const decodeFile = decoder(Type.Object({
  id: Type.String({ minLength: 1 }),
  bytes: Type.Integer(),
  created_at: Type.Integer(),
  file_name: Type.Optional(Type.String()),
  file_url: Type.Optional(Type.Union([Type.String(), Type.Null()]))
}), 'an upload answer')

export interface UploadedFile { id: string, bytes: number, created_at: number, file_name?: string | undefined, file_url: string | null }

/** Streams `body` to Coze's file store; COZE_REQUEST_TIMEOUT_MS bounds the answer once it is sent. */
export async function uploadFile (coze: CozeClient, body: Readable, fileName: string, o: CallOptions = {}): Promise<UploadedFile> {
  Object.assign(body, { path: fileName })
  const f = decodeFile(await cozeUpload(coze, body, o, (opts, api) => api.files.upload({ file: body as unknown as Blob }, opts)))
  return { id: f.id, bytes: f.bytes, created_at: f.created_at, file_name: f.file_name, file_url: f.file_url || null }
}
