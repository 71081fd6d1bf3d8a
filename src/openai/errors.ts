// GatewayError → OpenAI's error body `{"error": {"message", "type", "param", "code"}}`.
// The one place that decides how an OpenAI client sees a failure; statuses stay those of
// the gateway's own mapping (src/coze/errors.ts), so /v1 and /api/v1 fail alike.
import { GatewayError } from '../errors.js'

export interface OpenAIErrorBody {
  error: {
    message: string
    type: string
    param: string | null
    code: string | null
    /** Coze's business code, when Coze reported the error */
    coze_code?: number
    /** Coze's logid of the failed call, for support tickets */
    logid?: string
  }
}

/** The requested model is neither an alias nor a bot the gateway's token can use. */
export class ModelNotFoundError extends GatewayError {
  constructor (model: string, cause?: GatewayError) {
    super(404, 'UPSTREAM_NOT_FOUND',
      `The model \`${model}\` does not exist: it is not an alias in COZE_MODEL_MAP, and Coze has no published bot with that id for the gateway's token. GET /v1/models lists the configured models.`,
      { cozeCode: cause?.cozeCode, logid: cause?.logid, cause })
    this.name = 'ModelNotFoundError'
  }
}

/** A 400 that names the offending request field (OpenAI's `param`). */
export class InvalidParamError extends GatewayError {
  constructor (readonly param: string, message: string, readonly openaiCode = 'invalid_value') {
    super(400, 'VALIDATION_ERROR', message)
    this.name = 'InvalidParamError'
  }
}

function typeAndCode (e: GatewayError): { type: string, code: string } {
  const lower = e.code.toLowerCase()
  if (e instanceof ModelNotFoundError) return { type: 'invalid_request_error', code: 'model_not_found' }
  if (e instanceof InvalidParamError) return { type: 'invalid_request_error', code: e.openaiCode }
  switch (e.statusCode) {
    case 404: return { type: 'invalid_request_error', code: 'not_found' }
    case 429: return { type: 'rate_limit_error', code: 'rate_limit_exceeded' }
    case 402: return { type: 'insufficient_quota', code: lower }
    default: break
  }
  if (e.code === 'UPSTREAM_AUTH') return { type: 'upstream_auth_error', code: 'upstream_token_rejected' }
  if (e.statusCode < 500) return { type: 'invalid_request_error', code: lower }
  return { type: e.statusCode === 500 ? 'server_error' : 'upstream_error', code: lower }
}

/** The body OpenAI clients read; messages never contain a token (the catalogue's never do). */
export function toOpenAIError (e: GatewayError): OpenAIErrorBody {
  const { type, code } = typeAndCode(e)
  return {
    error: {
      message: e.message,
      type,
      param: e instanceof InvalidParamError ? e.param : validationParam(e),
      code,
      ...(e.cozeCode !== undefined ? { coze_code: e.cozeCode } : {}),
      ...(e.logid ? { logid: e.logid } : {})
    }
  }
}

/** Schema validation errors carry the failing field in details[0].field ("body/messages/0/role"). */
function validationParam (e: GatewayError): string | null {
  const d = e.details as Array<{ field?: string }> | undefined
  const field = Array.isArray(d) ? d[0]?.field : undefined
  if (!field) return null
  return field.replace(/^body\/?/, '').split('/').filter(Boolean)
    .map((seg, i) => /^\d+$/.test(seg) ? `[${seg}]` : (i === 0 ? seg : `.${seg}`)).join('') || null
}
