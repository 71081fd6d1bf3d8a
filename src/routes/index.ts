// Every route plugin, in registration order. One line per resource.
import type { FastifyInstance } from 'fastify'
import healthRoutes from './health.js'
import readinessRoutes from './readiness.js'
import metricsRoutes from './metrics.js'
import configRoutes from './config.js'
import accountRoutes from './account.js'
import chatRoutes from './chat.js'
import uploadRoutes from './upload.js'
import sessionRoutes from './sessions.js'
import conversationRoutes from './conversations.js'
import simpleChatRoutes from './simple-chat.js'
import openaiRoutes from './openai.js'
import chatActionRoutes from './chat-actions.js'
import workflowRoutes from './workflows.js'
import botRoutes from './bots.js'
import audioRoutes from './audio.js'
import authRoutes from './auth.js'

export async function registerRoutes (app: FastifyInstance): Promise<void> {
  await app.register(healthRoutes)
  await app.register(readinessRoutes)
  await app.register(metricsRoutes)
  await app.register(configRoutes)
  // ACCOUNT_ROUTES=false: the Coze account behind the token is not readable at all (404).
  if (app.config.ACCOUNT_ROUTES) await app.register(accountRoutes)
  await app.register(chatRoutes)
  await app.register(uploadRoutes)
  await app.register(sessionRoutes)
  await app.register(conversationRoutes)
  await app.register(simpleChatRoutes)
  await app.register(openaiRoutes)
  await app.register(chatActionRoutes)
  await app.register(workflowRoutes)
  if (app.config.ACCOUNT_ROUTES) await app.register(botRoutes)
  await app.register(audioRoutes)
  await app.register(authRoutes)
  await app.register(import('./playground.js'))
}
