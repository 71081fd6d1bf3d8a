// CORS for browser frontends on other origins.
// - Every method a route uses is allowed in preflights (DELETE for sessions, and PUT and
//   PATCH so a route that adds them works from a page at once).
// - Preflights are cached by the browser (Access-Control-Max-Age).
// - With a CORS_ORIGINS list, an unlisted origin gets no CORS header at all, preflight
//   included (the preflight is then a 404), so the browser refuses the call.
import fp from 'fastify-plugin'
import cors, { type FastifyCorsOptions } from '@fastify/cors'
import type { FastifyInstance } from 'fastify'

export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
/** Seconds a browser may reuse a preflight answer (Chromium caps it at 7200). */
export const CORS_MAX_AGE = 7200
const EXPOSED_HEADERS = ['x-request-id', 'server-timing', 'x-coze-logid', 'x-coze-conversation-id', 'x-coze-chat-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset']

/** `*`, or the listed origins (an `Origin` never ends with a slash, so a listed one's trailing slash is dropped). */
export function corsOrigin (setting: string): FastifyCorsOptions['origin'] {
  if (setting.trim() === '*') return '*'
  const allowed = new Set(setting.split(',').map((s) => s.trim().replace(/\/+$/, '')).filter(Boolean))
  if (allowed.has('*')) return '*'
  return (origin, cb) => cb(null, origin !== undefined && allowed.has(origin))
}

export default fp(async function corsPlugin (app: FastifyInstance, opts: { origins: string }) {
  await app.register(cors, {
    origin: corsOrigin(opts.origins),
    methods: CORS_METHODS,
    maxAge: CORS_MAX_AGE,
    exposedHeaders: EXPOSED_HEADERS
  })
}, { name: 'cors' })
