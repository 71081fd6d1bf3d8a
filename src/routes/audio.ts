// Coze audio: text to speech, speech to text and the voice list (/api/v1/audio/*).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { listVoices, synthesize, transcribe } from '../coze/audio.js'
import { SpeechBodySchema, SpeechResponses, TranscriptionForm, TranscriptionResponses, VoicesQuerySchema, VoicesResponses } from '../schemas/audio.js'
import { audioFile } from './audio-file.js'
import { uploadRoute, withFilePart } from './multipart-file.js'
import { upstreamOptions } from '../plugins/request-context.js'

const audioRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/v1/audio/speech', {
    schema: {
      tags: ['audio'],
      summary: 'Text to speech: the audio bytes, streamed',
      description: 'Bad input (empty `input` or over 1,024 characters, an unknown `response_format`, `speed` outside 0.2–3) → 400 before Coze; an unknown voice → 400 from Coze.',
      body: SpeechBodySchema,
      response: SpeechResponses
    }
  }, async (request, reply) => {
    const audio = await synthesize(app.coze, request.body, upstreamOptions(request, reply))
    return reply.type(audio.contentType).send(audio.body)
  })

  app.post('/api/v1/audio/transcriptions', {
    schema: {
      tags: ['audio'],
      summary: 'Speech to text: a multipart `file` (mp3, wav or ogg), streamed to Coze',
      description: `Up to ${app.config.MAX_UPLOAD_MB} MB (MAX_UPLOAD_MB) → 413 above. \`data\` = \`{text}\`.`,
      consumes: ['multipart/form-data'],
      multipartForm: TranscriptionForm,
      response: TranscriptionResponses
    },
    ...uploadRoute(app.config.MAX_UPLOAD_MB)
  }, async (request, reply) => withFilePart(request, app.config.MAX_UPLOAD_MB, async (part) => {
    const text = await transcribe(app.coze, audioFile(part), part.fileName, upstreamOptions(request, reply))
    return ok('Audio transcribed successfully', { text })
  }))

  app.get('/api/v1/audio/voices', {
    schema: { tags: ['audio'], summary: 'The voices text to speech can use, paged', querystring: VoicesQuerySchema, response: VoicesResponses }
  }, async (request, reply) => {
    const { page_num: pageNum, page_size: pageSize } = request.query
    const page = await listVoices(app.coze, { page_num: pageNum, page_size: pageSize }, upstreamOptions(request, reply))
    return ok('Voices retrieved successfully', page.items, { pagination: { page_num: pageNum, page_size: pageSize, has_more: page.has_more } })
  })
}

export default audioRoutes
