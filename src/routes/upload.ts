// POST /api/v1/upload: multipart `file` (+ `description`), streamed on to Coze.
// The file is never buffered whole: the multipart stream is piped into the upstream
// request; only its first chunk is read ahead, to refuse an empty file before Coze.
import { Readable } from 'node:stream'
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { MultipartFile } from '@fastify/multipart'
import { ok } from '../envelope.js'
import { errors } from '../errors.js'
import { uploadFile } from '../coze/files.js'
import { Envelope, ErrorRef, UpstreamErrors } from '../schemas/common.js'

const FileData = Type.Object({
  file_id: Type.String(),
  file_name: Type.String(),
  bytes: Type.Integer(),
  created_at: Type.Integer({ description: 'Unix seconds' }),
  description: Type.Optional(Type.String())
}, { examples: [{ file_id: '7369495981102020001', file_name: 'document.pdf', bytes: 152236, created_at: 1715847583, description: '这是一个PDF文档' }] })

const UploadForm = Type.Object({
  description: Type.Optional(Type.String({ description: 'Optional; send it before the file part' })),
  file: Type.String({ format: 'binary', description: 'The file' })
}, { required: ['file'] })

const uploadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tooLarge = () => errors.fileTooLarge(app.config.MAX_UPLOAD_MB)

  app.post('/api/v1/upload', {
    schema: {
      tags: ['files'],
      summary: 'Upload a file to Coze (multipart/form-data)',
      description: `Fields: \`file\` (required), \`description\` (optional, before the file part). Max ${app.config.MAX_UPLOAD_MB} MB (MAX_UPLOAD_MB) → 413. The returned file_id can be used in chat content parts.`,
      consumes: ['multipart/form-data'],
      multipartForm: UploadForm,
      response: { 200: Envelope(FileData, { file_id: Type.String() }), 413: ErrorRef, 415: ErrorRef, ...UpstreamErrors }
    },
    // The multipart limit (MAX_UPLOAD_MB) bounds the file; the body limit must not cut it first.
    bodyLimit: (app.config.MAX_UPLOAD_MB + 1) * 1024 * 1024
  }, async (request, reply) => {
    if (!request.isMultipart()) {
      throw errors.multipartRequired()
    }
    const declared = Number(request.headers['content-length'])
    if (declared > (app.config.MAX_UPLOAD_MB + 1) * 1024 * 1024) throw tooLarge()

    const part: MultipartFile | undefined = await request.file()
    if (!part) throw errors.invalid('No file: send the file in a multipart field named "file".')
    if (part.fieldname !== 'file') {
      part.file.resume()
      throw errors.invalid(`Unexpected file field "${part.fieldname}": send the file in a multipart field named "file".`)
    }
    const descriptionField = part.fields.description
    const description = descriptionField && !Array.isArray(descriptionField) && descriptionField.type === 'field'
      ? String(descriptionField.value)
      : undefined

    const source = part.file[Symbol.asyncIterator]()
    const first = await source.next()
    if (first.done) throw errors.invalid('The file is empty: upload a file with content.')
    const file = part.file
    const body = Readable.from((async function * () {
      yield first.value
      for (let r = await source.next(); !r.done; r = await source.next()) yield r.value
      // Over the limit, busboy just stops: fail the upstream body so Coze stores nothing.
      if (file.truncated) throw tooLarge()
    })(), { objectMode: false })

    const fileName = part.filename || 'upload.bin'
    try {
      const f = await uploadFile(app.coze, body, fileName, reply.onLogid)
      return ok('File uploaded successfully', {
        file_id: f.id, file_name: f.file_name || fileName, bytes: f.bytes, created_at: f.created_at, ...(description ? { description } : {})
      }, { file_id: f.id })
    } catch (err) {
      if (file.truncated) throw tooLarge()
      throw err
    } finally {
      file.resume()
    }
  })
}

export default uploadRoutes
