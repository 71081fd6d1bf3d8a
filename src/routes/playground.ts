// GET /playground: the web playground, a single page of plain ES modules served as they
// are from <package root>/playground (no build step). PLAYGROUND=false: not registered (404).
import { join } from 'node:path'
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify'
import { PACKAGE_ROOT } from '../package-root.js'
import { lazyApp } from '../plugins/lazy-app.js'

/** The playground's files, next to package.json (from the sources, the tsc build or the bundle). */
export const PLAYGROUND_DIR = join(PACKAGE_ROOT, 'playground')

/** No inline script or style, nothing from another origin, no framing. */
export const PLAYGROUND_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

export default async function playgroundRoutes (app: FastifyInstance): Promise<void> {
  if (!app.config.PLAYGROUND) return

  // Encapsulated: these headers go on the playground's answers only (404s included).
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.header('content-security-policy', PLAYGROUND_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cross-origin-opener-policy', 'same-origin')
    return payload
  })
  // Files are sent by @fastify/static (send: ETag, ranges, no path outside the root, no
  // dotfiles), loaded on the first request (src/plugins/lazy-app.ts); the routes are ours
  // so that they can skip the API's rate limit: one page load is a dozen small files,
  // which must not eat the quota of the chats.
  const files = lazyApp(app, async () => {
    const { default: fastifyStatic } = await import('@fastify/static')
    const inner = Fastify({ logger: false })
    await inner.register(fastifyStatic, { root: PLAYGROUND_DIR, serve: false, cacheControl: true, maxAge: 0 })
    const page = (_request: unknown, reply: FastifyReply) => reply.sendFile('index.html')
    inner.get('/playground', page)
    inner.get('/playground/', page)
    inner.get<{ Params: { '*': string } }>('/playground/*', (request, reply) => reply.sendFile(request.params['*']))
    return inner
  })
  const route = { schema: { hide: true }, config: { rateLimit: false as const } }
  app.get('/playground', route, files)
  app.get('/playground/', route, files)
  app.get<{ Params: { '*': string } }>('/playground/*', route, (request, reply) => {
    // send refuses these too (403); a plain 404 says less about the disk.
    if (request.params['*'].split(/[/\\]/).some((segment) => segment.startsWith('.'))) return reply.callNotFound()
    return files(request, reply)
  })
}
