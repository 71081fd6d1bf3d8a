// One error handler for the whole app: every failure becomes an envelope with the right
// status. Upstream errors keep their Coze code and logid; nothing internal leaks.
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { fail } from '../envelope.js'
import { ClientAbortError, GatewayError } from '../errors.js'

/** Fastify and plugin error codes → the gateway's own status and wording. */
function fromFastifyError (err: FastifyError, maxUploadMb: number): GatewayError | undefined {
  if (err.validation) {
    return new GatewayError(400, 'VALIDATION_ERROR', `Invalid request: ${err.message}`, { details: err.validation.map((v) => ({ field: `${err.validationContext ?? ''}${v.instancePath}`, message: v.message, params: v.params })) })
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new GatewayError(400, 'INVALID_JSON', `Malformed JSON body: ${err.message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'$/, 'it could not be parsed')}`)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new GatewayError(400, 'INVALID_JSON', 'The JSON body is empty: send a JSON object.')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GatewayError(415, 'UNSUPPORTED_MEDIA_TYPE', `Unsupported Content-Type: send application/json${''} (or multipart/form-data for uploads).`)
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatewayError(400, 'VALIDATION_ERROR', 'Content-Length does not match the body.')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError(413, 'PAYLOAD_TOO_LARGE', 'Request body too large.')
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_FILES_LIMIT':
      return new GatewayError(413, 'PAYLOAD_TOO_LARGE', `File too large. Maximum size is ${maxUploadMb}MB`)
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new GatewayError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the file as multipart/form-data with a "file" field.')
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new GatewayError(413, 'PAYLOAD_TOO_LARGE', 'Too many multipart parts or fields.')
    default:
      break
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new GatewayError(err.statusCode, err.statusCode === 404 ? 'NOT_FOUND' : 'VALIDATION_ERROR', err.message)
  }
  return undefined
}

export function toClientError (err: unknown, maxUploadMb: number): GatewayError {
  if (err instanceof GatewayError) return err
  const mapped = fromFastifyError(err as FastifyError, maxUploadMb)
  return mapped ?? new GatewayError(500, 'INTERNAL_ERROR', 'Internal server error.', { cause: err })
}

export default fp(async function errorHandler (app: FastifyInstance, opts: { maxUploadMb: number }) {
  app.setErrorHandler((err, request, reply) => {
    // The client left: there is no one to answer (the upstream call was already aborted).
    if (err instanceof ClientAbortError) return reply.code(499).send()
    const e = toClientError(err, opts.maxUploadMb)
    if (e.statusCode >= 500 && e.code === 'INTERNAL_ERROR') {
      request.log.error({ err }, 'unhandled error')
    } else if (e.statusCode >= 500 || e.cozeCode !== undefined) {
      request.log.warn({ code: e.code, coze_code: e.cozeCode, logid: e.logid }, e.message)
    }
    if (e.logid) void reply.header('x-coze-logid', e.logid)
    if (reply.sent || reply.raw.headersSent) return
    return reply.code(e.statusCode).send(fail(e.message, e.toEnvelopeExtra()))
  })

  app.setNotFoundHandler(app.rateLimit ? { preHandler: app.rateLimit() } : {}, (request, reply) => {
    return reply.code(404).send(fail(`Route ${request.method} ${request.url.split('?')[0]} not found. See /docs for the API.`, { code: 'NOT_FOUND' }))
  })
}, { name: 'error-handler' })
