// For route plugins whose POST bodies are optional (clear, create with defaults): an
// empty body, with or without `content-type: application/json`, is read as `{}`.
// Call inside the (encapsulated) route plugin; other plugins keep the strict parser.
import type { FastifyInstance } from 'fastify'

export function allowEmptyJsonBody (app: FastifyInstance): void {
  const strict = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') return done(null, {})
    return strict(request, text, done)
  })
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body) request.body = {}
  })
}
