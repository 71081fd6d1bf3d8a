// The gate of routes that exist only with gateway API keys (token vending). Without keys
// such a route does not exist: 404, the same answer as an unknown route. With keys, the
// access plugin (src/access/plugin.ts) asks for the route's scope (`vend` for
// /api/v1/auth: src/access/scopes.ts): 401 without a valid key, 403 without the scope.
import type { FastifyRequest } from 'fastify'
import { errors } from '../errors.js'

/** Run in onRequest, so a route that does not exist for the caller answers 404 before its body is read. */
export async function requireGatewayKeys (request: FastifyRequest): Promise<void> {
  if (!request.server.config.access.keys.enabled) throw errors.routeNotFound(request.method, request.url.split('?')[0] ?? '/')
}
