// GET /ready: the readiness probe of load balancers and Kubernetes (GET /health is the
// liveness probe). 503 while the gateway starts or shuts down, while its session store
// is unreachable and after Coze refused its token; 200 otherwise. Never calls Coze inline.
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { fail, ok } from '../envelope.js'
import { Envelope, Timestamp } from '../schemas/common.js'

const Checks = Type.Object({
  lifecycle: Type.String({ description: 'starting, running or stopping' }),
  session_store: Type.String({ description: 'ok, or unreachable (Redis down, the sqlite file not writable)' }),
  coze_token: Type.String({ description: 'ok, refused (Coze refused COZE_API_TOKEN on the last call that told), or unknown (no call yet)' })
})
const ReadyData = Type.Object({
  status: Type.String({ description: 'ready or not_ready' }),
  message: Type.String(),
  timestamp: Timestamp,
  checks: Checks
}, { examples: [{ status: 'ready', message: 'ready', timestamp: '2025-01-01T12:00:00.000Z', checks: { lifecycle: 'running', session_store: 'ok', coze_token: 'ok' } }] })
const ReadyReply = Envelope(ReadyData, { status: Type.String(), checks: Checks })
const NOT_READY = {
  status: 'not_ready',
  message: 'Not ready: the redis session store is unreachable: connect ECONNREFUSED 127.0.0.1:6379.',
  timestamp: '2025-01-01T12:00:00.000Z',
  checks: { lifecycle: 'running', session_store: 'unreachable', coze_token: 'ok' }
}

const readinessRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/ready', {
    config: { rateLimit: false },
    schema: {
      tags: ['system'],
      summary: 'Readiness probe: may this instance take traffic?',
      description: '200 when ready. 503 while the gateway starts or shuts down, while the session store is unreachable (Redis down, the sqlite file not writable), ' +
        'and after Coze refused the gateway\'s token (until a later call or the background check succeeds). `checks` says which. ' +
        'Use /health (always 200 while the process runs) as the liveness probe.',
      response: {
        200: ReadyReply,
        503: {
          description: 'Not ready',
          content: {
            'application/json': {
              schema: ReadyReply,
              example: fail('Not ready: the redis session store is unreachable: connect ECONNREFUSED 127.0.0.1:6379.', { status: 'not_ready', checks: NOT_READY.checks }, NOT_READY)
            }
          }
        }
      }
    }
  }, async (_request, reply) => {
    app.upstream.refreshIfStale()
    const r = await app.readiness.check()
    const body = { status: r.ready ? 'ready' : 'not_ready', message: r.message, timestamp: new Date().toISOString(), checks: r.checks }
    const extra = { status: body.status, checks: r.checks }
    return reply.code(r.ready ? 200 : 503).send({ ...(r.ready ? ok(r.message, body, extra) : fail(r.message, extra, body)), data: body })
  })
}

export default readinessRoutes
