// Decorates the app with the session service and the chat service built on it.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { createSessions, type SessionService } from '../sessions/index.js'
import { ChatService } from './service.js'

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionService
    chat: ChatService
  }
}

export default fp(async function chatPlugin (app: FastifyInstance) {
  const sessions = await createSessions(app.config, app.coze, app.log, app.metrics)
  app.decorate('sessions', sessions.service)
  app.decorate('chat', new ChatService({ config: app.config, coze: app.coze, sessions: sessions.service, queue: sessions.queue, upstream: app.upstream, access: app.access, log: app.log, metrics: app.metrics }))
  app.addHook('onClose', async () => { await sessions.close() })
}, { name: 'chat', dependencies: ['access-control', 'observability'] })
