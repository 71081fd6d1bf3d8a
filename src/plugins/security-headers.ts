// Security headers on every answer (@fastify/helmet, replacing none: there were none).
// The CSP is helmet's default, which the Swagger UI at /docs works with (its scripts
// and styles are files from 'self'), plus its validator badge, and without
// upgrade-insecure-requests: the gateway is often reached over plain HTTP (localhost, a
// private network, behind a TLS proxy).
// A route with its own policy overrides it: set the header on its reply (e.g. in an
// onSend hook, as /playground does; reply headers win over helmet's), or give the route
// `helmet: { contentSecurityPolicy: { directives: … } }`, or `helmet: false`.
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'

export default fp(async function securityHeaders (app: FastifyInstance) {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'img-src': ["'self'", 'data:', 'https://validator.swagger.io'],
        'upgrade-insecure-requests': null
      }
    },
    // HSTS is the TLS proxy's to decide for its domain; never for its subdomains from here.
    strictTransportSecurity: { maxAge: 15_552_000, includeSubDomains: false }
  })
}, { name: 'security-headers' })
