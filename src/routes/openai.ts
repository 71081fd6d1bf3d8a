// The OpenAI-compatible API: POST /v1/chat/completions, GET /v1/models[/{model}].
// HTTP only: the request mapping lives in src/openai/, the chat is the gateway's one
// pipeline (src/chat/), the wire is src/wires/openai.ts. Errors use OpenAI's format.
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { uploadFile } from '../coze/files.js'
import type { UpstreamClock } from '../coze/client.js'
import { synthesize, transcribe } from '../coze/audio.js'
import { SpeechBodySchema, speechRequest } from '../openai/audio.js'
import { SpeechResponses, TranscriptionForm } from '../schemas/audio.js'
import { audioFile } from './audio-file.js'
import { uploadRoute, withFilePart } from './multipart-file.js'
import { ClientAbortError, GatewayError, errors } from '../errors.js'
import type { ChatContext, ChatEvent } from '../chat/types.js'
import { sendError, surfaceOf } from '../plugins/error-handler.js'
import { ModelNotFoundError } from '../openai/errors.js'
import { ModelCatalog, resolveModel } from '../openai/models.js'
import { FileLoader, type ImageLimits } from '../openai/images.js'
import { mapRequest, setFileId, type PendingFile } from '../openai/request.js'
import { completionWire, toCompletion } from '../wires/openai.js'
import { ChatCompletionBodySchema, ChatCompletionResponses, ModelListSchema, ModelSchema, OpenAIErrors } from '../openai/schemas.js'
import { answer } from './chat-reply.js'
import { upstreamOptions } from '../plugins/request-context.js'

const MB = 1024 * 1024

const v1: FastifyPluginAsyncTypebox = async (app) => {
  const config = app.config
  const imageLimits: ImageLimits = {
    maxBytes: config.OPENAI_IMAGE_MAX_MB * MB,
    timeoutMs: config.OPENAI_IMAGE_FETCH_TIMEOUT_MS,
    allowPrivate: config.OPENAI_IMAGE_ALLOW_PRIVATE
  }
  const loader = new FileLoader(imageLimits)
  const catalog = new ModelCatalog(app.coze, config)
  app.addHook('onClose', async () => { await loader.close() })
  surfaceOf(app, 'openai')

  app.setNotFoundHandler(app.rateLimit ? { preHandler: app.rateLimit() } : {}, (request, reply) => {
    const path = request.url.split('?')[0]
    const e = errors.notFound(`Invalid URL (${request.method} ${path}): this gateway serves POST /v1/chat/completions, POST /v1/audio/speech, POST /v1/audio/transcriptions and GET /v1/models.`)
    return app.methodNotAllowed(request, reply) ?? sendError(request, reply, e, 'openai', config)
  })

  app.post('/chat/completions', {
    schema: {
      tags: ['openai'],
      summary: 'OpenAI-compatible chat completion on a Coze bot (JSON, or SSE with "stream": true)',
      description: '`model` is an alias from COZE_MODEL_MAP or a Coze bot id (default COZE_BOT_ID). The whole `messages` array is the context; ' +
        'system messages are mapped as on /api/v1/chat; image_url parts are uploaded to Coze. Other OpenAI parameters are accepted and ignored. See README "OpenAI-compatible API".',
      body: ChatCompletionBodySchema,
      response: ChatCompletionResponses
    },
    // Inline images (data: URLs) come in the JSON body: room for one image at OPENAI_IMAGE_MAX_MB, base64-encoded.
    bodyLimit: config.BODY_LIMIT_KB * 1024 + Math.ceil(config.OPENAI_IMAGE_MAX_MB * MB * 4 / 3)
  }, async (request, reply) => {
    const body = request.body
    // The alias (of a bot or a chatflow) is resolved by the chat service; `model` is what is answered back.
    const { model } = resolveModel(config, body.model)
    const mapped = mapRequest(body.messages, imageLimits)
    const meta = { model, created: Math.floor(Date.now() / 1000) }
    const user = body.user || undefined

    let run: (ctx: ChatContext) => AsyncIterable<ChatEvent>
    if (mapped.kind === 'tool_outputs') {
      const req = { surface: 'openai' as const, user_id: user, ...mapped.toolOutputs }
      run = (ctx) => app.chat.toolOutputs(req, ctx)
    } else {
      const req = { surface: 'openai' as const, bot_id: model, user_id: user, messages: mapped.messages }
      // Allow-lists and budget before any image goes up to Coze.
      app.chat.authorize(req, request)
      await app.access.checkBudget(request.principal)
      await uploadAll(app, loader, reply, mapped.files, request.clientGone, request.observation)
      run = (ctx) => unknownModelAs404(app.chat.chat(req, ctx), model)
    }
    const stream = body.stream === true
    const wire = completionWire({ ...meta, includeUsage: stream && body.stream_options?.include_usage === true })
    return answer(app, request, reply, stream, run, wire, (r) => toCompletion(meta, r))
  })

  app.post('/audio/speech', {
    schema: {
      tags: ['openai'],
      summary: 'OpenAI-compatible text to speech: the audio bytes',
      description: '`voice` is a Coze voice_id or a name from COZE_VOICE_MAP; `response_format` mp3 (default), wav, pcm or opus; `speed` 0.2–3. `model` is ignored.',
      body: SpeechBodySchema,
      response: { ...SpeechResponses, ...OpenAIErrors }
    }
  }, async (request, reply) => {
    const audio = await synthesize(app.coze, speechRequest(request.body, config.voiceMap), upstreamOptions(request, reply))
    return reply.type(audio.contentType).send(audio.body)
  })

  app.post('/audio/transcriptions', {
    schema: {
      tags: ['openai'],
      summary: 'OpenAI-compatible speech to text: multipart `file` (mp3, wav or ogg) and `model` (ignored); answers `{text}`',
      consumes: ['multipart/form-data'],
      multipartForm: Type.Object({ ...TranscriptionForm.properties, model: Type.Optional(Type.String({ description: 'Accepted and ignored' })) }, { required: ['file'] }),
      response: { 200: Type.Object({ text: Type.String() }), ...OpenAIErrors }
    },
    ...uploadRoute(config.MAX_UPLOAD_MB)
  }, async (request, reply) => withFilePart(request, config.MAX_UPLOAD_MB, async (part) =>
    ({ text: await transcribe(app.coze, audioFile(part), part.fileName, upstreamOptions(request, reply)) })))

  app.get('/models', {
    schema: {
      tags: ['openai'],
      summary: 'OpenAI-compatible model list: the aliases of COZE_MODEL_MAP and the default bot',
      description: 'Each entry names its Coze bot (`bot_id`) and, when Coze could tell, the bot name (cached 10 minutes).',
      response: { 200: ModelListSchema, ...OpenAIErrors }
    }
  }, async (request) => ({
    object: 'list' as const,
    data: (await catalog.list()).filter((m) => m.workflow_id
      ? app.access.workflowAllowed(request.principal, m.workflow_id)
      : app.access.botAllowed(request.principal, m.bot_id ?? m.id, 'openai'))
  }))

  app.get('/models/:model', {
    schema: {
      tags: ['openai'],
      summary: 'One model: an alias, the default bot, or a Coze bot id',
      params: Type.Object({ model: Type.String({ minLength: 1, description: 'URL-encoded (a "/" in a name is %2F)' }) }),
      response: { 200: ModelSchema, ...OpenAIErrors }
    }
  }, async (request) => {
    app.chat.authorize({ surface: 'openai', bot_id: request.params.model, messages: [] }, request)
    return catalog.retrieve(request.params.model)
  })
}

/** Uploads image/file parts to Coze, one at a time, and fills in their file ids. */
async function uploadAll (app: FastifyInstance, loader: FileLoader, reply: FastifyReply, files: PendingFile[], signal: AbortSignal, clock: UpstreamClock): Promise<void> {
  for (const f of files) {
    const loaded = await loader.load(f.source, f.param, signal)
    if (signal.aborted) throw new ClientAbortError()
    const uploaded = await uploadFile(app.coze, Readable.from([loaded.data]), loaded.fileName, { signal, onLogid: reply.onLogid, clock })
      .catch((err: unknown) => { throw signal.aborted ? new ClientAbortError() : err })
    setFileId(f, uploaded.id)
  }
}

/** On a chat start, Coze's "not found" can only be about the bot: the model is unknown. */
async function * unknownModelAs404 (events: AsyncIterable<ChatEvent>, model: string): AsyncGenerator<ChatEvent> {
  try {
    yield * events
  } catch (err) {
    if (err instanceof GatewayError && err.statusCode === 404 && err.code === 'UPSTREAM_NOT_FOUND') throw new ModelNotFoundError(model, err)
    throw err
  }
}

const openaiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(v1, { prefix: '/v1' })
}

export default openaiRoutes
