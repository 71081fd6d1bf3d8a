// Security headers on every answer, from helmet (replacing none: there were none). The CSP
// is helmet's default, which the Swagger UI at /docs works with (its scripts and styles are
// files from 'self'), plus its validator badge, and without upgrade-insecure-requests: the
// gateway is often reached over plain HTTP (localhost, a private network, behind a TLS proxy).
// A route with its own policy overrides it: set the header on its reply (e.g. in an onSend
// hook, as /playground does; reply headers win over these), or give the route
// `helmet: { contentSecurityPolicy: { directives: … } }`, or `helmet: false`.
//
// helmet itself, without @fastify/helmet: that plugin builds helmet's middleware (parsing
// every option and CSP directive) again on every request, in two hooks of its own; here
// helmet runs once per policy, at start, and each request only gets the headers it wrote
// (≈ 12 µs less per request, BENCHMARKS.md "Profiling").
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'

declare module 'fastify' {
  interface RouteShorthandOptions {
    /** This route's helmet options (merged over the gateway's), or false for no security headers. */
    helmet?: HelmetOptions | false
  }
  interface FastifyContextConfig {
    /** @internal the security headers of the route, computed once */
    securityHeaders?: SecurityHeaders
  }
}

const GATEWAY_POLICY: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: true,
    directives: {
      'img-src': ["'self'", 'data:', 'https://validator.swagger.io'],
      'upgrade-insecure-requests': null
    }
  },
  // HSTS is the TLS proxy's to decide for its domain; never for its subdomains from here.
  strictTransportSecurity: { maxAge: 15_552_000, includeSubDomains: false }
}

/** What helmet's middleware does to a response: headers set, headers removed. */
export interface SecurityHeaders { set: Array<[string, string]>, remove: string[] }

/** Runs helmet's middleware once against a recorder. */
export function securityHeadersOf (options: HelmetOptions): SecurityHeaders {
  const out: SecurityHeaders = { set: [], remove: [] }
  const res = {
    setHeader (name: string, value: unknown) { out.set.push([name, String(value)]) },
    removeHeader (name: string) { out.remove.push(name) }
  }
  let failed: unknown
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => { failed = err })
  if (failed) throw failed
  return out
}

export default fp(async function securityHeaders (app: FastifyInstance) {
  const global = securityHeadersOf(GATEWAY_POLICY)
  app.addHook('onRoute', (route) => {
    if (route.helmet === undefined) return
    route.config = { ...route.config, securityHeaders: route.helmet === false ? { set: [], remove: [] } : securityHeadersOf(Object.assign({}, GATEWAY_POLICY, route.helmet) as HelmetOptions) }
  })
  app.addHook('onRequest', (request, reply, done) => {
    const h = request.routeOptions.config.securityHeaders ?? global
    const raw = reply.raw
    for (let i = 0; i < h.set.length; i++) raw.setHeader(h.set[i]![0], h.set[i]![1])
    for (let i = 0; i < h.remove.length; i++) raw.removeHeader(h.remove[i]!)
    done()
  })
}, { name: 'security-headers' })
