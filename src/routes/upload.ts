// POST /api/v1/upload: multipart `file` (+ `description`), streamed on to Coze.
// The file is never buffered whole: the multipart stream is piped into the upstream
// request; only its first chunk is read ahead, to refuse an empty file before Coze.
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { uploadFile } from '../coze/files.js'
import { Envelope, ErrorRef, UpstreamErrors } from '../schemas/common.js'
import { uploadBodyLimit, withFilePart } from './multipart-file.js'

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
  app.post('/api/v1/upload', {
    schema: {
      tags: ['files'],
      summary: 'Upload a file to Coze (multipart/form-data)',
      description: `Fields: \`file\` (required), \`description\` (optional, before the file part). Max ${app.config.MAX_UPLOAD_MB} MB (MAX_UPLOAD_MB) → 413. The returned file_id can be used in chat content parts.`,
      consumes: ['multipart/form-data'],
      multipartForm: UploadForm,
      response: { 200: Envelope(FileData, { file_id: Type.String() }), 413: ErrorRef, 415: ErrorRef, ...UpstreamErrors }
    },
    bodyLimit: uploadBodyLimit(app.config.MAX_UPLOAD_MB)
  }, async (request, reply) => withFilePart(request, app.config.MAX_UPLOAD_MB, async (part) => {
    const f = await uploadFile(app.coze, part.body, part.fileName, reply.onLogid)
    const description = part.fields.description
    return ok('File uploaded successfully', {
      file_id: f.id, file_name: f.file_name || part.fileName, bytes: f.bytes, created_at: f.created_at, ...(description ? { description } : {})
    }, { file_id: f.id })
  }))
}

export default uploadRoutes
