// Fastify's and its plugins' own errors (validation, body parsing, multipart limits) →
// the gateway's GatewayError, with wording that says what to fix. Anything unknown is
// an internal error: its details stay in the log, never in the answer.
import type { FastifyError } from 'fastify'
import { errors, GatewayError } from './errors.js'

function fromFastifyError (err: FastifyError, maxUploadMb: number): GatewayError | undefined {
  if (err.validation) {
    return errors.invalid(`Invalid request: ${err.message}`, err.validation.map((v) => ({ field: `${err.validationContext ?? ''}${v.instancePath}`, message: v.message, params: v.params })))
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.invalidJson(`Malformed JSON body: ${err.message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'$/, 'it could not be parsed')}`)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.invalidJson('The JSON body is empty: send a JSON object.')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType('Unsupported Content-Type: send application/json (or multipart/form-data for uploads).')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.invalid('Content-Length does not match the body.')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge('Request body too large.')
    case 'FST_REQ_FILE_TOO_LARGE':
    case 'FST_FILES_LIMIT':
      return errors.fileTooLarge(maxUploadMb)
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return errors.multipartRequired()
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return errors.payloadTooLarge('Too many multipart parts or fields.')
    default:
      break
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new GatewayError(err.statusCode, err.statusCode === 404 ? 'NOT_FOUND' : 'VALIDATION_ERROR', err.message)
  }
  return undefined
}

/** Any error → the GatewayError a client is shown. */
export function toClientError (err: unknown, maxUploadMb: number): GatewayError {
  if (err instanceof GatewayError) return err
  return fromFastifyError(err as FastifyError, maxUploadMb) ?? errors.internal(err)
}
