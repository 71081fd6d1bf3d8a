// The gate of routes that need a gateway API key with a scope (e.g. token vending: `vend`).
// Gateway API keys come with access control (issue 12); until then there are none, so such
// a route does not exist: 404, the same answer as an unknown route. Access control fills in
// hasGatewayKeys() and the key/scope check below; the routes already call requireScope.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from '../errors.js'

export type GatewayScope = 'vend'

/** Whether any gateway API key is configured. None can be yet. */
export function hasGatewayKeys (_app: FastifyInstance): boolean {
  return false
}

/**
 * Throws unless the request carries a gateway key with `scope`. Run it in onRequest, so a
 * route that does not exist for the caller answers 404 before its body is even read.
 */
export async function requireScope (request: FastifyRequest, _scope: GatewayScope): Promise<void> {
  if (!hasGatewayKeys(request.server)) throw errors.routeNotFound(request.method, request.url.split('?')[0] ?? '/')
  // With keys: 401 without a valid key, 403 without `_scope` (access control, issue 12).
}
