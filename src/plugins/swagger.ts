// OpenAPI 3 at /docs/json (and /docs/yaml) and Swagger UI at /docs. What the document
// adds to the route schemas (operation ids, examples, security) is in ./openapi.ts.
// @fastify/swagger collects the routes as they are registered and builds the document on
// its first request; Swagger UI (@fastify/swagger-ui, with its static files and yaml) is
// loaded on the first request under /docs (./lazy-app.ts).
import fp from 'fastify-plugin'
import Fastify from 'fastify'
import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import { lazyApp } from './lazy-app.js'
import { ErrorEnvelopeSchema } from '../schemas/common.js'
import { SSE_FRAMES_DOC } from '../schemas/chat.js'
import { SIMPLE_CHAT_DOC, SIMPLE_CHAT_TAG } from '../schemas/simple-chat.js'
import { finishDocument, SECURITY_SCHEME, transformRoute } from './openapi.js'

export default fp(async function swaggerPlugin (app: FastifyInstance, opts: { version: string }) {
  app.addSchema(ErrorEnvelopeSchema)
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Coze Gateway API',
        version: opts.version,
        description: 'A REST gateway in front of the Coze (扣子) Open API. The Coze token stays on the server.\n\n' +
          'Every JSON answer, errors included, is the envelope `{ "success": bool, "message": string, "data": ... }`.\n\n' + SSE_FRAMES_DOC,
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' }
      },
      servers: [{ url: '/', description: 'The gateway serving this document' }],
      components: {
        securitySchemes: {
          [SECURITY_SCHEME]: { type: 'http', scheme: 'bearer', description: 'A gateway API key, when the gateway has keys configured; without keys, no credentials are needed. The Coze token never leaves the server.' }
        }
      },
      // optional: no credentials, or a gateway API key
      security: [{}, { [SECURITY_SCHEME]: [] }],
      tags: [
        { name: 'system', description: 'Health, status and configuration' },
        { name: 'chat', description: 'Chat with a Coze bot, as JSON or Server-Sent Events' },
        { name: 'files', description: 'File upload to Coze' },
        { name: 'sessions', description: 'Server-side chat sessions: POST /api/v1/chat with session_id keeps the context; one chat at a time per session, in order' },
        { name: 'conversations', description: 'Coze conversations: create, list, read the history' },
        { name: SIMPLE_CHAT_TAG, description: SIMPLE_CHAT_DOC },
        { name: 'workflows', description: 'Run Coze workflows: sync, async, streaming, resume after an interrupt' },
        { name: 'bots', description: 'Bots of a workspace and their profiles (prologue, suggested questions)' },
        { name: 'audio', description: 'Text to speech, speech to text and the voice list' },
        { name: 'account', description: 'The Coze account behind the gateway token' },
        { name: 'auth', description: 'Token vending: short-lived Coze access tokens for frontends that talk to Coze directly (needs an OAuth app and a gateway key with the vend scope)' },
        { name: 'openai', description: 'OpenAI-compatible API: any OpenAI client can talk to a Coze bot (errors in OpenAI format)' }
      ]
    },
    // shared schemas keep their $id as component name (components/schemas/ErrorEnvelope)
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    transform: transformRoute,
    transformObject: (doc) => finishDocument('openapiObject' in doc ? doc.openapiObject : doc.swaggerObject)
  })
  const route = { schema: { hide: true } }
  app.get('/docs/json', route, async () => app.swagger())
  app.get('/docs/yaml', route, async (_request, reply) => reply.type('application/x-yaml').send(app.swagger({ yaml: true })))
  const ui = lazyApp(app, async () => {
    const { default: swaggerUi } = await import('@fastify/swagger-ui')
    const docs = Fastify({ logger: false })
    // @fastify/swagger-ui needs @fastify/swagger: here the finished document of this app.
    await docs.register(swagger, { mode: 'static', specification: { document: app.swagger() as never } })
    await docs.register(swaggerUi, { routePrefix: '/docs' })
    return docs
  })
  app.get('/docs', route, ui)
  app.get('/docs/*', route, ui)
}, { name: 'swagger' })
