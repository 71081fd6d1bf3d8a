// Which scope each route needs. One table, by route pattern; a route can also declare
// its own with `config: { access: 'public' | <scope> }` (e.g. a route plugin on another
// branch). A route in neither needs the `account` scope: new routes are closed by default.
import type { Scope } from './keys.js'
import { isPublicRoute } from '../public-routes.js'

export type RouteAccess = Scope | 'public'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs when gateway keys are on: 'public' (no key) or a scope. */
    access?: RouteAccess
  }
}

// First match wins; a prefix matches itself and anything below it ("/chat" is not "/chatflows").
const TABLE: Array<[prefix: string, access: RouteAccess]> = [
  ['/playground', 'public'],
  ['/api/v1/chat', 'chat'],
  ['/chat', 'chat'],
  ['/api/v1/sessions', 'sessions'],
  ['/api/v1/conversations', 'sessions'],
  ['/session', 'sessions'],
  ['/api/v1/upload', 'files'],
  ['/api/v1/audio', 'chat'],
  ['/api/v1/workflows', 'workflows'],
  ['/api/v1/chatflows', 'workflows'],
  ['/v1', 'openai'],
  ['/api/v1/auth', 'vend'],
  ['/api/v1/user', 'account'],
  ['/api/v1/workspaces', 'account'],
  ['/api/v1/bots', 'account'],
  ['/api/v1/config', 'account'],
  ['/api/v1/test', 'account']
]

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`)

/** The access a route pattern needs. */
export function routeAccess (pattern: string, declared?: RouteAccess): RouteAccess {
  if (declared) return declared
  // the probes, the status page and the docs (the same routes the rate limiter leaves out)
  if (isPublicRoute(pattern)) return 'public'
  for (const [prefix, access] of TABLE) if (under(pattern, prefix)) return access
  return 'account'
}
