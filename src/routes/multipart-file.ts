// The one `file` part of a multipart upload, as a stream for Coze: never buffered whole,
// refused before Coze when it is missing or empty, and failed (413) when it grows past
// MAX_UPLOAD_MB, so Coze stores nothing.
import { Readable } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import type { MultipartFile } from '@fastify/multipart'
import { errors } from '../errors.js'

export interface FilePart {
  /** The file's bytes, to stream on. */
  body: Readable
  fileName: string
  mimetype: string
  /** Text fields sent before the file part. */
  fields: Record<string, string>
}

/** The body limit of an upload route: the multipart limit bounds the file, the body limit must not cut it first. */
export const uploadBodyLimit = (maxMb: number) => (maxMb + 1) * 1024 * 1024

/** Reads the `file` part and runs `send` with it; the part is drained however `send` ends. */
export async function withFilePart<T> (request: FastifyRequest, maxMb: number, send: (part: FilePart) => Promise<T>): Promise<T> {
  const tooLarge = () => errors.fileTooLarge(maxMb)
  if (!request.isMultipart()) throw errors.multipartRequired()
  if (Number(request.headers['content-length']) > uploadBodyLimit(maxMb)) throw tooLarge()

  const part: MultipartFile | undefined = await request.file()
  if (!part) throw errors.invalid('No file: send the file in a multipart field named "file".')
  const file = part.file
  try {
    if (part.fieldname !== 'file') throw errors.invalid(`Unexpected file field "${part.fieldname}": send the file in a multipart field named "file".`)
    const fields: Record<string, string> = {}
    for (const [name, f] of Object.entries(part.fields)) {
      if (f && !Array.isArray(f) && f.type === 'field') fields[name] = String(f.value)
    }
    const source = file[Symbol.asyncIterator]()
    const first = await source.next()
    if (first.done) throw errors.invalid('The file is empty: upload a file with content.')
    const body = Readable.from((async function * () {
      yield first.value
      for (let r = await source.next(); !r.done; r = await source.next()) yield r.value
      // Over the limit, busboy just stops: fail the upstream body so Coze stores nothing.
      if (file.truncated) throw tooLarge()
    })(), { objectMode: false })
    return await send({ body, fileName: part.filename || 'upload.bin', mimetype: part.mimetype, fields })
  } catch (err) {
    if (file.truncated) throw tooLarge()
    throw err
  } finally {
    file.resume()
  }
}
