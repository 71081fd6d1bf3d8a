// Fastify's and its plugins' own errors (validation, body parsing, multipart limits) →
// the gateway's GatewayError, with wording that says what to fix. Anything unknown is
// an internal error: its details stay in the log, never in the answer.
import type { FastifyError } from 'fastify'
import { errors, GatewayError } from './errors.js'
import { PATTERN_HINTS } from './schemas/ids.js'

/** What the messages need to name the limits in force. */
export interface ErrorContext {
  maxUploadMb: number
  bodyLimitKb: number
  /** The body limit of the route that failed, in bytes (routes may raise BODY_LIMIT_KB). */
  routeBodyLimit?: number | undefined
}

interface AjvError { instancePath: string, keyword: string, message?: string, params: Record<string, unknown> }

const PART_NAMES: Record<string, string> = { querystring: ' (query string)', params: ' (URL path)', headers: ' (header)' }

/** `/messages/0/role` → `messages[0].role` */
function fieldName (path: string, part: string | undefined): string {
  const name = path.split('/').filter(Boolean).map((seg, i) => /^\d+$/.test(seg) ? `[${seg}]` : (i === 0 ? seg : `.${seg}`)).join('')
  return name ? `${name}${PART_NAMES[part ?? ''] ?? ''}` : (part === 'body' || !part ? 'the body' : `the ${part}`)
}

/**
 * One sentence per failed field. Ajv reports every branch of an anyOf; the deepest path
 * is where the value went wrong, and a choice between constants is named once.
 */
export function validationMessage (list: AjvError[], part: string | undefined): string {
  let deepest = list[0]!.instancePath
  for (const e of list) if (e.instancePath.split('/').length > deepest.split('/').length) deepest = e.instancePath
  let here = list.filter((e) => e.instancePath === deepest && e.keyword !== 'anyOf' && e.keyword !== 'oneOf')
  // A type error there belongs to a branch of another type; any other error is about the value itself.
  if (here.some((e) => e.keyword !== 'type')) here = here.filter((e) => e.keyword !== 'type')
  const field = fieldName(deepest, part)
  const required = here.find((e) => e.keyword === 'required')
  if (required) return `${fieldName(`${deepest}/${String(required.params.missingProperty)}`, part)} is required`
  const consts = here.filter((e) => e.keyword === 'const' || e.keyword === 'enum')
  if (consts.length > 0 && consts.length === here.length) {
    const allowed = consts.flatMap((e) => e.keyword === 'const' ? [e.params.allowedValue] : e.params.allowedValues as unknown[])
    return `${field} must be one of ${[...new Set(allowed.map(String))].join(', ')}`
  }
  const types = here.filter((e) => e.keyword === 'type')
  if (types.length > 0 && types.length === here.length) {
    return `${field} must be ${[...new Set(types.flatMap((e) => String(e.params.type).split(',')))].join(' or ')}`
  }
  const first = here[0] ?? list[0]!
  const p = first.params
  switch (first.keyword) {
    case 'pattern': {
      const hint = PATTERN_HINTS[String(p.pattern)]
      if (hint) return `${field} must be ${hint}`
      break
    }
    case 'minLength': return p.limit === 1 ? `${field} must not be empty` : `${field} must be at least ${String(p.limit)} characters long`
    case 'maxLength': return `${field} must be at most ${String(p.limit)} characters long`
    case 'minItems': return `${field} must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}`
    case 'maxItems': return `${field} must have at most ${String(p.limit)} items`
    default: break
  }
  return `${field} ${first.message ?? 'is invalid'}`
}

function fromFastifyError (err: FastifyError, ctx: ErrorContext): GatewayError | undefined {
  if (err.validation) {
    const part = err.validationContext
    return errors.invalid(`Invalid request: ${validationMessage(err.validation as AjvError[], part)}`,
      err.validation.map((v) => ({ field: `${part ?? ''}${v.instancePath}`, message: v.message, params: v.params })))
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType('Unsupported Content-Type: send application/json (or multipart/form-data for uploads).')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.invalid('Content-Length does not match the body.')
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const limitKb = Math.floor((ctx.routeBodyLimit ?? ctx.bodyLimitKb * 1024) / 1024)
      return errors.jsonBodyTooLarge(limitKb, limitKb > ctx.bodyLimitKb ? 'BODY_LIMIT_KB, plus room for one OPENAI_IMAGE_MAX_MB image' : 'BODY_LIMIT_KB')
    }
    case 'FST_REQ_FILE_TOO_LARGE':
      return errors.fileTooLarge(ctx.maxUploadMb)
    case 'FST_FILES_LIMIT':
      return errors.oneFilePerUpload()
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return errors.multipartRequired()
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return errors.payloadTooLarge('Too many multipart parts or fields: send one "file" part and at most a "description" field.')
    default:
      break
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new GatewayError(err.statusCode, err.statusCode === 404 ? 'NOT_FOUND' : 'VALIDATION_ERROR', err.message)
  }
  return undefined
}

/** Any error → the GatewayError a client is shown. */
export function toClientError (err: unknown, ctx: ErrorContext): GatewayError {
  if (err instanceof GatewayError) return err
  return fromFastifyError(err as FastifyError, ctx) ?? errors.internal(err)
}
