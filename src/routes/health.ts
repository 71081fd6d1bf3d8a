// GET /health and GET /: cheap status answers; /health never waits on Coze.
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { Envelope, Timestamp } from '../schemas/common.js'

const Upstream = Type.Object({
  mode: Type.String({ description: 'coze, or emulator in demo mode' }),
  state: Type.String({ description: 'unknown, up or down: the last known state, from real traffic and a background check' }),
  last_checked: Type.Union([Timestamp, Type.Null()]),
  last_error: Type.Optional(Type.String())
})

const HealthData = Type.Object({
  status: Type.String({ description: 'healthy, or degraded when Coze was last seen down' }),
  message: Type.String(),
  timestamp: Timestamp,
  version: Type.String(),
  upstream: Upstream
}, { examples: [{ status: 'healthy', message: 'Service is healthy', timestamp: '2025-01-01T12:00:00.000Z', version: '1.0.0', upstream: { mode: 'coze', state: 'up', last_checked: '2025-01-01T11:59:30.000Z' } }] })

const RootData = Type.Object({ status: Type.Literal('running'), message: Type.String(), timestamp: Timestamp, version: Type.String(), docs: Type.String() },
  { examples: [{ status: 'running', message: 'Coze SDK API Service is running', timestamp: '2025-01-01T12:00:00.000Z', version: '1.0.0', docs: '/docs' }] })

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/health', {
    schema: {
      tags: ['system'],
      summary: 'Health probe',
      description: 'Always 200 while the gateway serves. `status` is degraded when Coze was last seen unreachable or rejecting the token. Never calls Coze inline.',
      response: { 200: Envelope(HealthData, { status: Type.String(), timestamp: Timestamp, version: Type.String(), upstream: Upstream }) }
    },
    // The answer is built right here: the schema documents it, and compiling a serializer
    // for it was ~15 ms of the first probe after a start (cold start).
    serializerCompiler: () => (data) => JSON.stringify(data)
  }, async () => {
    app.upstream.refreshIfStale()
    const degraded = app.upstream.state === 'down'
    const body = {
      status: degraded ? 'degraded' : 'healthy',
      message: degraded
        ? `Service is running but Coze is not usable: ${app.upstream.lastError ?? 'unknown error'}`
        : `Service is healthy${app.config.upstreamMode === 'emulator' ? ' (demo mode: built-in Coze emulator)' : ''}`,
      timestamp: new Date().toISOString(),
      version: app.config.version,
      upstream: { mode: app.config.upstreamMode, ...app.upstream.snapshot() }
    }
    return ok(body.message, body, body)
  })

  app.get('/', {
    schema: {
      tags: ['system'],
      summary: 'Service status and where the docs are',
      response: { 200: Envelope(RootData, { status: Type.String(), timestamp: Timestamp, version: Type.String(), docs: Type.String() }) }
    }
  }, async () => {
    const body = { status: 'running' as const, message: 'Coze SDK API Service is running', timestamp: new Date().toISOString(), version: app.config.version, docs: '/docs' }
    return ok(body.message, body, body)
  })
}

export default healthRoutes
