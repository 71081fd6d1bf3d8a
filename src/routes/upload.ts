// POST /api/v1/upload: multipart `file` (+ `description`), streamed on to Coze.
// The file is never buffered whole: the multipart stream is piped into the upstream
// request; only its first chunk is read ahead, to refuse an empty file before Coze.
// What follows the file is read before the upstream body ends, so a second file fails
// the upload (Coze keeps nothing) instead of being dropped.
import { Readable } from 'node:stream'
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyError } from 'fastify'
import multipart, { type Multipart, type MultipartFile, type MultipartValue } from '@fastify/multipart'
import { ok } from '../envelope.js'
import { ClientAbortError, errors, GatewayError } from '../errors.js'
import { toClientError } from '../fastify-errors.js'
import { uploadFile } from '../coze/files.js'
import { Envelope, ErrorRef, Timestamp, UpstreamErrors } from '../schemas/common.js'
import { isoFromUnix } from '../time.js'

/** Largest form field (description); over it: 400. */
export const FORM_FIELD_MAX_BYTES = 64 * 1024

const FileData = Type.Object({
  file_id: Type.String(),
  file_name: Type.String(),
  bytes: Type.Integer(),
  created_at: Type.Union([Timestamp, Type.Null()], { description: 'ISO 8601' }),
  file_url: Type.Union([Type.String(), Type.Null()], { description: 'Where Coze serves the file; null when Coze gives none' }),
  description: Type.Optional(Type.String())
}, { examples: [{ file_id: '7369495981102020001', file_name: 'document.pdf', bytes: 152236, created_at: '2024-05-16T08:19:43.000Z', file_url: null, description: '这是一个PDF文档' }] })

const uploadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const maxUploadMb = app.config.MAX_UPLOAD_MB
  const tooLarge = () => errors.fileTooLarge(maxUploadMb)
  // files: 1 → a second file part is the multipart plugin's FST_FILES_LIMIT: "one file per upload".
  await app.register(multipart, { limits: { fileSize: maxUploadMb * 1024 * 1024, files: 1, fields: 10, parts: 20, fieldSize: FORM_FIELD_MAX_BYTES } })

  /** A failure of the multipart body itself (no boundary, cut short, a limit) is the client's: 400/413. */
  const fromMultipart = (err: unknown): GatewayError => {
    if (err instanceof GatewayError) return err
    const code = (err as FastifyError).code
    if (typeof code === 'string' && code.startsWith('FST_')) return toClientError(err, { maxUploadMb, bodyLimitKb: app.config.BODY_LIMIT_KB })
    return errors.malformedMultipart((err as Error).message || 'unreadable')
  }

  app.post('/api/v1/upload', {
    schema: {
      tags: ['files'],
      summary: 'Upload a file to Coze (multipart/form-data)',
      description: `Fields: \`file\` (required, one per upload), \`description\` (optional, before or after the file; at most ${FORM_FIELD_MAX_BYTES / 1024} KB). Max ${maxUploadMb} MB (MAX_UPLOAD_MB) → 413. A second file → 400. The returned file_id can be used in chat content parts.`,
      consumes: ['multipart/form-data'],
      response: { 200: Envelope(FileData, { file_id: Type.String() }), 413: ErrorRef, 415: ErrorRef, ...UpstreamErrors }
    },
    // The multipart limit (MAX_UPLOAD_MB) bounds the file; the body limit must not cut it first.
    bodyLimit: (maxUploadMb + 1) * 1024 * 1024,
    config: { upload: true }
  }, async (request, reply) => {
    if (!request.isMultipart()) {
      throw errors.multipartRequired()
    }
    const declared = Number(request.headers['content-length'])
    if (declared > (maxUploadMb + 1) * 1024 * 1024) throw tooLarge()

    const parts = request.parts()[Symbol.asyncIterator]()
    const next = async (): Promise<IteratorResult<Multipart>> => {
      try { return await parts.next() } catch (err) { throw fromMultipart(err) }
    }
    let description: string | undefined
    const field = (p: MultipartValue) => {
      if (p.fieldname !== 'description') return
      if (p.valueTruncated) throw errors.formFieldTooLong('description', FORM_FIELD_MAX_BYTES)
      description = String(p.value) || undefined
    }

    let refused: GatewayError | undefined
    try {
      let part: MultipartFile | undefined
      for (let r = await next(); !r.done; r = await next()) {
        if (r.value.type === 'file') { part = r.value; break }
        field(r.value)
      }
      if (!part) throw errors.invalid('No file: send the file in a multipart field named "file".')
      if (part.fieldname !== 'file') {
        part.file.resume()
        throw errors.invalid(`Unexpected file field "${part.fieldname}": send the file in a multipart field named "file".`)
      }
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

      const fileName = part.filename || 'upload.bin'
      try {
        const f = await uploadFile(app.coze, body, fileName, { signal: request.clientGone, onLogid: reply.onLogid, answerTimeoutMs: app.config.COZE_REQUEST_TIMEOUT_MS })
        return ok('File uploaded successfully', {
          file_id: f.id, file_name: f.file_name || fileName, bytes: f.bytes, created_at: isoFromUnix(f.created_at), file_url: f.file_url, ...(description ? { description } : {})
        }, { file_id: f.id })
      } finally {
        file.resume()
      }
    } catch (err) {
      // The client left, or its body stalled: not Coze's fault, whatever the upstream call saw.
      if (request.clientGone.aborted) throw new ClientAbortError()
      if (request.bodyTimedOut) throw request.bodyTimedOut
      throw refused ?? err
    }
  })
}

export default uploadRoutes
