// The OpenAI surface's own errors; their rendering is src/wires/openai.ts. Statuses stay
// those of the gateway's own mapping, so /v1 and /api/v1 fail alike.
import { GatewayError } from '../errors.js'

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
