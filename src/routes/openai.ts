// The OpenAI-compatible API: POST /v1/chat/completions, GET /v1/models[/{model}].
// HTTP only: the mapping lives in src/openai/, the chat itself is the gateway's pipeline
// (src/coze/chat.ts), so timeouts, truncation, cancel-on-disconnect and the Coze error
// mapping are the same as on /api/v1/chat. Errors here use OpenAI's error format.
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { aggregateChat, streamChat, streamToolOutputs, type ChatEvent } from '../coze/chat.js'
import { toCozeMessages } from '../coze/messages.js'
import { uploadFile } from '../coze/files.js'
import { toGatewayError } from '../coze/errors.js'
import { ClientAbortError, GatewayError } from '../errors.js'
import { toClientError } from '../plugins/error-handler.js'
import { clientAbortSignal } from '../client-abort.js'
import { ModelNotFoundError, toOpenAIError } from '../openai/errors.js'
import { ModelCatalog, resolveModel } from '../openai/models.js'
import { FileLoader, type ImageLimits } from '../openai/images.js'
import { mapRequest, setFileId, type PendingFile } from '../openai/request.js'
import { completionWire, toCompletion } from '../openai/completions.js'
import { ChatCompletionBodySchema, ChatCompletionResponses, ModelListSchema, ModelSchema, OpenAIErrors } from '../openai/schemas.js'
import { streamLimits } from './chat.js'
import { relaySse } from './sse-relay.js'

const MB = 1024 * 1024
/** Used as the Coze user_id when neither `user` nor DEFAULT_USER_ID is given. */
export const DEFAULT_OPENAI_USER = 'openai-user'

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

  // Every failure in OpenAI's format; `x-should-retry: false` because a Coze chat is not
  // idempotent (a retried chat runs and bills again): the client decides, not its SDK.
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ClientAbortError) return reply.code(499).send()
    const e = toClientError(err, config.MAX_UPLOAD_MB)
    if (e.statusCode >= 500 && e.code === 'INTERNAL_ERROR') request.log.error({ err }, 'unhandled error')
    else if (e.statusCode >= 500 || e.cozeCode !== undefined) request.log.warn({ code: e.code, coze_code: e.cozeCode, logid: e.logid }, e.message)
    if (reply.sent || reply.raw.headersSent) return
    if (e.logid) void reply.header('x-coze-logid', e.logid)
    return reply.code(e.statusCode).header('x-should-retry', 'false').send(toOpenAIError(e))
  })
  app.setNotFoundHandler(app.rateLimit ? { preHandler: app.rateLimit() } : {}, (request, reply) => {
    const path = request.url.split('?')[0]
    return reply.code(404).header('x-should-retry', 'false').send({
      error: { message: `Invalid URL (${request.method} ${path}): this gateway serves POST /v1/chat/completions and GET /v1/models.`, type: 'invalid_request_error', param: null, code: 'not_found' }
    })
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
    const { model, botId } = resolveModel(config, body.model)
    const mapped = mapRequest(body.messages, imageLimits)
    const meta = { model, created: Math.floor(Date.now() / 1000) }
    const stream = body.stream === true
    const clientGone = clientAbortSignal(reply)
    const onLogid = (l: string) => { if (!reply.sent) void reply.header('x-coze-logid', l) }
    const opts = { ...streamLimits(config), onLogid }

    let start: (signal: AbortSignal) => AsyncIterable<ChatEvent>
    if (mapped.kind === 'tool_outputs') {
      start = (signal) => streamToolOutputs(app.coze, mapped.toolOutputs, { ...opts, signal })
    } else {
      await uploadAll(app, loader, reply, mapped.files, clientGone)
      const turn = {
        bot_id: botId,
        user_id: body.user || config.DEFAULT_USER_ID || DEFAULT_OPENAI_USER,
        additional_messages: toCozeMessages(mapped.messages, false)
      }
      start = (signal) => unknownModelAs404(streamChat(app.coze, turn, { ...opts, signal }), model)
    }

    if (stream) {
      const includeUsage = body.stream_options?.include_usage === true
      return relaySse(app, reply, (signal) => app.upstream.track(start(signal)), completionWire({ ...meta, includeUsage }))
    }
    const result = await aggregateChat(app.upstream.track(start(clientGone)))
    return reply.send(toCompletion(meta, result))
  })

  app.get('/models', {
    schema: {
      tags: ['openai'],
      summary: 'OpenAI-compatible model list: the aliases of COZE_MODEL_MAP and the default bot',
      description: 'Each entry names its Coze bot (`bot_id`) and, when Coze could tell, the bot name (cached 10 minutes).',
      response: { 200: ModelListSchema, ...OpenAIErrors }
    }
  }, async () => ({ object: 'list' as const, data: await catalog.list() }))

  app.get('/models/:model', {
    schema: {
      tags: ['openai'],
      summary: 'One model: an alias, the default bot, or a Coze bot id',
      params: Type.Object({ model: Type.String({ minLength: 1, description: 'URL-encoded (a "/" in a name is %2F)' }) }),
      response: { 200: ModelSchema, ...OpenAIErrors }
    }
  }, async (request) => catalog.retrieve(request.params.model))
}

/** Uploads image/file parts to Coze, one at a time, and fills in their file ids. */
async function uploadAll (app: FastifyInstance, loader: FileLoader, reply: FastifyReply, files: PendingFile[], signal: AbortSignal): Promise<void> {
  for (const f of files) {
    const loaded = await loader.load(f.source, f.param, signal)
    if (signal.aborted) throw new ClientAbortError()
    try {
      const uploaded = await uploadFile(app.coze, Readable.from([loaded.data]), loaded.fileName, (l) => { if (!reply.sent) void reply.header('x-coze-logid', l) })
      setFileId(f, uploaded.id)
    } catch (err) {
      throw toGatewayError(err)
    }
  }
}

/** On a chat start, Coze's "not found" can only be about the bot: the model is unknown. */
async function * unknownModelAs404 (events: AsyncIterable<ChatEvent>, model: string): AsyncGenerator<ChatEvent> {
  try {
    yield * events
  } catch (err) {
    if (err instanceof GatewayError && err.statusCode === 404) throw new ModelNotFoundError(model, err)
    throw err
  }
}

const openaiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(v1, { prefix: '/v1' })
}

export default openaiRoutes
