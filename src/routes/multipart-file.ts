// The one `file` part of a multipart upload (/api/v1/upload, the transcription routes), as a
// stream for Coze: never buffered whole, refused before Coze when it is missing or empty, and
// failed when it grows past MAX_UPLOAD_MB (413), so Coze stores nothing.
// - What follows the file is read before the upstream body ends, so a second file fails the
//   upload (400, one file per upload) instead of being dropped, and text fields may come
//   before or after the file.
// - A text field over FORM_FIELD_MAX_BYTES is a 400, never cut; an empty one is "not given".
// - A body that is not multipart (no boundary, cut short) is the client's fault: 400, not a
//   Coze failure; a client that leaves mid-upload is a client abort, whatever Coze saw.
import { Readable } from 'node:stream'
import type { FastifyError, FastifyRequest } from 'fastify'
import type { Multipart, MultipartFile, MultipartValue } from '@fastify/multipart'
import { ClientAbortError, errors, GatewayError } from '../errors.js'
import { toClientError } from '../fastify-errors.js'

export interface FilePart {
  /** The file's bytes, to stream on. */
  body: Readable
  fileName: string
  mimetype: string
  /** Non-empty text fields; those after the file part are there once `body` has ended. */
  fields: Record<string, string>
}

/** Largest text field of a multipart upload (description); over it: 400. */
export const FORM_FIELD_MAX_BYTES = 64 * 1024

/**
 * Route options of an upload route: the multipart limit (MAX_UPLOAD_MB) bounds the file, so
 * the body limit must not cut it first; the body has UPLOAD_TIMEOUT_MS to arrive.
 */
export const uploadRoute = (maxMb: number) => ({ bodyLimit: (maxMb + 1) * 1024 * 1024, config: { upload: true } })

/** Reads the `file` part and runs `send` with it; the part is drained however `send` ends. */
export async function withFilePart<T> (request: FastifyRequest, maxMb: number, send: (part: FilePart) => Promise<T>): Promise<T> {
  const tooLarge = () => errors.fileTooLarge(maxMb)
  if (!request.isMultipart()) throw errors.multipartRequired()
  if (Number(request.headers['content-length']) > uploadRoute(maxMb).bodyLimit) throw tooLarge()

  /** A failure of the multipart body itself (no boundary, cut short, a limit) is the client's: 400/413. */
  const fromMultipart = (err: unknown): GatewayError => {
    if (err instanceof GatewayError) return err
    const code = (err as FastifyError).code
    if (typeof code === 'string' && code.startsWith('FST_')) return toClientError(err, { maxUploadMb: maxMb, bodyLimitKb: request.server.config.BODY_LIMIT_KB })
    return errors.malformedMultipart((err as Error).message || 'unreadable')
  }
  const parts = request.parts()[Symbol.asyncIterator]()
  const next = async (): Promise<IteratorResult<Multipart>> => {
    try { return await parts.next() } catch (err) { throw fromMultipart(err) }
  }
  const fields: Record<string, string> = {}
  const field = (p: MultipartValue) => {
    if (p.valueTruncated) throw errors.formFieldTooLong(p.fieldname, FORM_FIELD_MAX_BYTES)
    const value = String(p.value)
    if (value !== '') fields[p.fieldname] = value
  }

  // Set when the file's body failed on our side (a second file, a limit): that, not what
  // the upstream call made of the broken body, is the answer.
  let refused: GatewayError | undefined
  let part: MultipartFile | undefined
  try {
    for (let r = await next(); !r.done; r = await next()) {
      if (r.value.type === 'file') { part = r.value; break }
      field(r.value)
    }
    if (!part) throw errors.invalid('No file: send the file in a multipart field named "file".')
    if (part.fieldname !== 'file') throw errors.invalid(`Unexpected file field "${part.fieldname}": send the file in a multipart field named "file".`)
    const file = part.file
    const source = file[Symbol.asyncIterator]()
    const first = await source.next().catch((err: unknown) => { throw fromMultipart(err) })
    if (first.done) throw errors.invalid('The file is empty: upload a file with content.')
    const body = Readable.from((async function * () {
      try {
        yield first.value
        for (let r = await source.next(); !r.done; r = await source.next()) yield r.value
        // Over the limit, busboy just stops: fail the upstream body so Coze stores nothing.
        if (file.truncated) throw tooLarge()
        for (let r = await next(); !r.done; r = await next()) {
          if (r.value.type === 'file') { r.value.file.resume(); throw errors.oneFilePerUpload() }
          field(r.value)
        }
      } catch (err) {
        refused = fromMultipart(err)
        throw refused
      }
    })(), { objectMode: false })
    return await send({ body, fileName: part.filename || 'upload.bin', mimetype: part.mimetype, fields })
  } catch (err) {
    // The client left, or its body stalled: not Coze's fault, whatever the upstream call saw.
    if (request.clientGone.aborted) throw new ClientAbortError()
    if (request.bodyTimedOut) throw request.bodyTimedOut
    if (part?.file.truncated) throw tooLarge()
    throw refused ?? err
  } finally {
    part?.file.resume()
  }
}
