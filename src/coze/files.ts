// File upload to Coze through the SDK, streaming. The SDK builds the multipart body with
// axios.toFormData (form-data); a stream's `path` gives the part its filename and type.
import type { Readable } from 'node:stream'
import type { FileObject } from '@coze/api'
import type { CozeClient } from './client.js'

export async function uploadFile (coze: CozeClient, body: Readable, fileName: string, onLogid?: (l: string) => void): Promise<FileObject> {
  Object.assign(body, { path: fileName })
  // No request timeout: a large upload on a slow link legitimately takes long; the
  // client's own connection bounds it.
  return coze.api.files.upload({ file: body as unknown as Blob }, coze.options({ stream: true, onLogid }))
}
