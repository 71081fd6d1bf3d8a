// The gateway's error catalogue. Every failure that reaches a client is a GatewayError:
// an HTTP status, a stable machine code, a message that says what to fix, and, when
// Coze was involved, the Coze code and logid.

export type ErrorCode =
  | 'VALIDATION_ERROR' | 'INVALID_JSON' | 'UNSUPPORTED_MEDIA_TYPE' | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND' | 'RATE_LIMITED' | 'CONFLICT'
  | 'UPSTREAM_AUTH' | 'UPSTREAM_BAD_REQUEST' | 'UPSTREAM_NOT_FOUND' | 'UPSTREAM_RATE_LIMITED'
  | 'CONVERSATION_BUSY' | 'CHAT_NOT_CANCELABLE' | 'PREMIUM_REQUIRED' | 'QUOTA_EXCEEDED'
  | 'UPSTREAM_ERROR' | 'UPSTREAM_TRUNCATED' | 'UPSTREAM_TIMEOUT' | 'UPSTREAM_UNAVAILABLE'
  | 'SHUTTING_DOWN' | 'INTERNAL_ERROR' | 'SESSION_STORE_UNAVAILABLE'

export interface GatewayErrorOptions {
  cozeCode?: number | undefined
  logid?: string | undefined
  cause?: unknown
  details?: unknown
}

export class GatewayError extends Error {
  readonly statusCode: number
  readonly code: ErrorCode
  readonly cozeCode: number | undefined
  readonly logid: string | undefined
  readonly details: unknown

  constructor (statusCode: number, code: ErrorCode, message: string, opts: GatewayErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'GatewayError'
    this.statusCode = statusCode
    this.code = code
    this.cozeCode = opts.cozeCode
    this.logid = opts.logid
    this.details = opts.details
  }

  /** Extra envelope fields, next to success/message/data. */
  toEnvelopeExtra (): Record<string, unknown> {
    const extra: Record<string, unknown> = { code: this.code }
    if (this.cozeCode !== undefined) extra.coze_code = this.cozeCode
    if (this.logid) extra.logid = this.logid
    if (this.details !== undefined) extra.details = this.details
    return extra
  }
}

export const badRequest = (message: string, details?: unknown) =>
  new GatewayError(400, 'VALIDATION_ERROR', message, { details })

export const notFound = (message: string) => new GatewayError(404, 'NOT_FOUND', message)

/** The client went away; nothing is sent back. */
export class ClientAbortError extends Error {
  constructor () { super('client disconnected') }
}
