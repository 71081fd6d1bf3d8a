// File upload to Coze through the SDK, streaming. The SDK builds the multipart body with
// axios.toFormData (form-data); a stream's `path` gives the part its filename and type.
import type { Readable } from 'node:stream'
import { Type } from 'typebox'
import { errors } from '../errors.js'
import { cozeCall, type CozeClient } from './client.js'
import { decoder } from './decode.js'

const decodeFile = decoder(Type.Object({
  id: Type.String({ minLength: 1 }),
  bytes: Type.Integer(),
  created_at: Type.Integer(),
  file_name: Type.Optional(Type.String()),
  file_url: Type.Optional(Type.Union([Type.String(), Type.Null()]))
}), 'an upload answer')

export interface UploadedFile { id: string, bytes: number, created_at: number, file_name?: string | undefined, file_url: string | null }

export interface UploadOptions {
  signal?: AbortSignal | undefined
  onLogid?: ((logid: string) => void) | undefined
  /** How long Coze may take to answer once the whole body is sent (COZE_REQUEST_TIMEOUT_MS). */
  answerTimeoutMs: number
}

export async function uploadFile (coze: CozeClient, body: Readable, fileName: string, o: UploadOptions): Promise<UploadedFile> {
  Object.assign(body, { path: fileName })
  // No limit while the body is being sent (a large file on a slow link takes long, and the
  // client's side is bounded by UPLOAD_TIMEOUT_MS); once it is sent, Coze must answer in time.
  const ac = new AbortController()
  const onAbort = () => ac.abort()
  if (o.signal?.aborted) ac.abort()
  o.signal?.addEventListener('abort', onAbort, { once: true })
  let timedOut = false
  let timer: NodeJS.Timeout | undefined
  body.once('end', () => { timer = setTimeout(() => { timedOut = true; ac.abort() }, o.answerTimeoutMs) })
  try {
    const f = decodeFile(await cozeCall(coze, { stream: true, signal: ac.signal, onLogid: o.onLogid }, (opts) => coze.api.files.upload({ file: body as unknown as Blob }, opts)))
    return { id: f.id, bytes: f.bytes, created_at: f.created_at, file_name: f.file_name, file_url: f.file_url || null }
  } catch (err) {
    if (timedOut) throw errors.uploadTimeout(o.answerTimeoutMs)
    throw err
  } finally {
    clearTimeout(timer)
    o.signal?.removeEventListener('abort', onAbort)
  }
}
