// For route plugins whose POST bodies are optional (clear, create with defaults): an
// empty body, with or without `content-type: application/json`, is read as `{}`.
// Call inside the (encapsulated) route plugin; other plugins keep the strict parser.
import type { FastifyInstance } from 'fastify'
import { useJsonParser } from '../json-body.js'

export function allowEmptyJsonBody (app: FastifyInstance): void {
  useJsonParser(app, () => ({}))
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body) request.body = {}
  })
}
