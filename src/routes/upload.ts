// POST /api/v1/upload: multipart `file` (+ `description`), streamed on to Coze through the
// shared file-part reader (./multipart-file.ts): one file per upload, fields before or after it.
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { uploadFile } from '../coze/files.js'
import { Envelope, ErrorRef, Timestamp, UpstreamErrors } from '../schemas/common.js'
import { isoFromUnix } from '../time.js'
import { FORM_FIELD_MAX_BYTES, uploadRoute, withFilePart } from './multipart-file.js'

const FileData = Type.Object({
  file_id: Type.String(),
  file_name: Type.String(),
  bytes: Type.Integer(),
  created_at: Type.Union([Timestamp, Type.Null()], { description: 'ISO 8601' }),
  file_url: Type.Union([Type.String(), Type.Null()], { description: 'Where Coze serves the file; null when Coze gives none' }),
  description: Type.Optional(Type.String())
}, { examples: [{ file_id: '7369495981102020001', file_name: 'document.pdf', bytes: 152236, created_at: '2024-05-16T08:19:43.000Z', file_url: null, description: '这是一个PDF文档' }] })

const UploadForm = Type.Object({
  description: Type.Optional(Type.String({ maxLength: FORM_FIELD_MAX_BYTES, description: `Optional, before or after the file part; at most ${FORM_FIELD_MAX_BYTES / 1024} KB` })),
  file: Type.String({ format: 'binary', description: 'The file (one per upload)' })
}, { required: ['file'] })

const uploadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/v1/upload', {
    schema: {
      tags: ['files'],
      summary: 'Upload a file to Coze (multipart/form-data)',
      description: `Fields: \`file\` (required, one per upload), \`description\` (optional, before or after the file; at most ${FORM_FIELD_MAX_BYTES / 1024} KB). ` +
        `Max ${app.config.MAX_UPLOAD_MB} MB (MAX_UPLOAD_MB) → 413. A second file, or a longer description → 400. The returned file_id can be used in chat content parts.`,
      consumes: ['multipart/form-data'],
      multipartForm: UploadForm,
      response: { 200: Envelope(FileData, { file_id: Type.String() }), 413: ErrorRef, 415: ErrorRef, ...UpstreamErrors }
    },
    ...uploadRoute(app.config.MAX_UPLOAD_MB)
  }, async (request, reply) => withFilePart(request, app.config.MAX_UPLOAD_MB, async (part) => {
    const f = await uploadFile(app.coze, part.body, part.fileName, { signal: request.clientGone, onLogid: reply.onLogid, clock: request.observation })
    const description = part.fields.description
    return ok('File uploaded successfully', {
      file_id: f.id, file_name: f.file_name || part.fileName, bytes: f.bytes, created_at: isoFromUnix(f.created_at), file_url: f.file_url, ...(description ? { description } : {})
    }, { file_id: f.id })
  }))
}

export default uploadRoutes
