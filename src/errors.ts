// The gateway's error catalogue. Every failure that reaches a client is a GatewayError:
// an HTTP status, a stable machine code, a message that says what to fix, and, when
// Coze was involved, the Coze code and logid. The factories in `errors` fix status,
// code and wording together, so each message is written once. (The Coze code → HTTP
// mapping is Coze knowledge and lives in src/coze/errors.ts.)

export type ErrorCode =
  | 'VALIDATION_ERROR' | 'INVALID_JSON' | 'UNSUPPORTED_MEDIA_TYPE' | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND' | 'METHOD_NOT_ALLOWED' | 'RATE_LIMITED' | 'CONFLICT'
  | 'UNAUTHORIZED' | 'FORBIDDEN' | 'TOO_MANY_STREAMS'
  | 'UPSTREAM_AUTH' | 'UPSTREAM_AUTH_UNAVAILABLE' | 'UPSTREAM_BAD_REQUEST' | 'UPSTREAM_NOT_FOUND' | 'UPSTREAM_RATE_LIMITED'
  | 'CONVERSATION_BUSY' | 'CHAT_NOT_CANCELABLE' | 'PREMIUM_REQUIRED' | 'QUOTA_EXCEEDED'
  | 'UPSTREAM_ERROR' | 'UPSTREAM_TRUNCATED' | 'UPSTREAM_TIMEOUT' | 'UPSTREAM_UNAVAILABLE'
  | 'SHUTTING_DOWN' | 'INTERNAL_ERROR' | 'SESSION_STORE_UNAVAILABLE' | 'LIMIT_STORE_UNAVAILABLE'
  | 'INVALID_URL' | 'URI_TOO_LONG' | 'HEADERS_TOO_LARGE' | 'REQUEST_TIMEOUT' | 'INCOMPLETE_BODY' | 'TOO_MANY_CONNECTIONS'

export interface GatewayErrorOptions {
  cozeCode?: number | undefined
  logid?: string | undefined
  cause?: unknown
  details?: unknown
  /** Extra response headers (e.g. Retry-After, WWW-Authenticate) */
  headers?: Record<string, string> | undefined
}

export class GatewayError extends Error {
  readonly statusCode: number
  readonly code: ErrorCode
  readonly cozeCode: number | undefined
  readonly logid: string | undefined
  readonly details: unknown
  readonly headers: Record<string, string> | undefined

  constructor (statusCode: number, code: ErrorCode, message: string, opts: GatewayErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'GatewayError'
    this.statusCode = statusCode
    this.code = code
    this.cozeCode = opts.cozeCode
    this.logid = opts.logid
    this.details = opts.details
    this.headers = opts.headers
  }

  /** The same error with another message (e.g. a surface's own wording); code, status and Coze fields kept. */
  withMessage (message: string): GatewayError {
    return new GatewayError(this.statusCode, this.code, message, this.options({ cause: this }))
  }

  /** The same error carrying the Coze logid, when it had none. */
  withLogid (logid: string | undefined): GatewayError {
    if (this.logid || !logid) return this
    return new GatewayError(this.statusCode, this.code, this.message, this.options({ logid }))
  }

  private options (patch: GatewayErrorOptions): GatewayErrorOptions {
    return { cozeCode: this.cozeCode, logid: this.logid, cause: this.cause, details: this.details, headers: this.headers, ...patch }
  }
}

/** The client went away; nothing is sent back. */
export class ClientAbortError extends Error {
  constructor () { super('client disconnected') }
}

const invalid = (message: string, details?: unknown) => new GatewayError(400, 'VALIDATION_ERROR', message, { details })
const upstreamError = (message: string, logid?: string) => new GatewayError(502, 'UPSTREAM_ERROR', message, { logid })
const unauthorized = (message: string) => new GatewayError(401, 'UNAUTHORIZED', message, { headers: { 'www-authenticate': 'Bearer' } })
const forbidden = (message: string) => new GatewayError(403, 'FORBIDDEN', message)
const retryAfter = (seconds: number) => ({ 'retry-after': String(Math.max(1, Math.ceil(seconds))) })

export const errors = {
  /** A 400 whose message says what to fix. */
  invalid,
  botIdRequired: () => invalid('bot_id is required either in request or environment variable COZE_BOT_ID'),
  userIdRequired: (hint = 'send the id of your end user (or set DEFAULT_USER_ID on the gateway)') => invalid(`user_id is required: ${hint}`),
  sessionBoundToBot: (sessionId: string, botId: string) =>
    invalid(`Session ${sessionId} is bound to bot ${botId}: omit bot_id, or start a new session for another bot.`),
  sessionBoundToChatflow: (sessionId: string, workflowId: string) =>
    invalid(`Session ${sessionId} is bound to chatflow ${workflowId}: chat on it with POST /api/v1/workflows/${workflowId}/chat, or start a new session.`),
  sessionBoundToConversation: (sessionId: string, conversationId: string) =>
    invalid(`Session ${sessionId} is bound to conversation ${conversationId}: omit conversation_id, or send the session's own.`),
  notBoth: (a: string, b: string, why: string) => invalid(`${a} and ${b} cannot be used together: ${why}`),
  invalidJson: (message: string) => new GatewayError(400, 'INVALID_JSON', message),
  unsupportedMediaType: (message: string) => new GatewayError(415, 'UNSUPPORTED_MEDIA_TYPE', message),
  multipartRequired: () => new GatewayError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the file as multipart/form-data with a "file" field.'),
  payloadTooLarge: (message: string) => new GatewayError(413, 'PAYLOAD_TOO_LARGE', message),
  fileTooLarge: (maxMb: number) => new GatewayError(413, 'PAYLOAD_TOO_LARGE', `File too large. Maximum size is ${maxMb}MB`),
  jsonBodyTooLarge: (limitKb: number, variable: string) => new GatewayError(413, 'PAYLOAD_TOO_LARGE', `JSON body over ${limitKb} KB (${variable}): send less, or raise the limit.`),
  oneFilePerUpload: () => invalid('One file per upload: this request carries more than one file part. Send each file in its own POST /api/v1/upload.'),
  formFieldTooLong: (field: string, maxBytes: number) => invalid(`The form field "${field}" is over ${Math.round(maxBytes / 1024)} KB: send at most ${maxBytes} bytes.`),
  malformedMultipart: (reason: string) => invalid(`Malformed multipart/form-data body (${reason}): send the file as multipart/form-data with a "file" field, and let your HTTP client write the Content-Type header (it carries the boundary).`),

  invalidUrl: (path: string) => new GatewayError(400, 'INVALID_URL', `The URL ${JSON.stringify(path)} is not valid: a "%" must start a percent-encoded byte such as %2F. Encode the path segment (encodeURIComponent).`),
  uriTooLong: (maxChars: number) => new GatewayError(414, 'URI_TOO_LONG', `A path segment of the URL is longer than ${maxChars} characters: ids are at most 128 characters.`),
  headersTooLarge: () => new GatewayError(431, 'HEADERS_TOO_LARGE', 'The request line and headers are too large (16 KB at most): shorten the URL or the headers (cookies), and send data in the body.'),
  requestTimeout: (ms: number, variable: string) => new GatewayError(408, 'REQUEST_TIMEOUT', `The request was not received within ${ms} ms (${variable}): send the headers and body at once.`),
  incompleteBody: (declared: number | undefined, ms: number, variable: string) => new GatewayError(400, 'INCOMPLETE_BODY',
    `The request body did not arrive whole within ${ms} ms (${variable})${declared === undefined ? '' : `: fewer than the ${declared} bytes its Content-Length announced came`}. ` +
    'Send the whole body at once, with a Content-Length that matches it.', { headers: { connection: 'close' } }),
  malformedHttp: () => invalid('Malformed HTTP request: the request line or a header could not be parsed.'),
  notPreflight: () => invalid('Invalid CORS preflight: an OPTIONS request needs the Origin and Access-Control-Request-Method headers (browsers send them).'),
  tooManyConnections: (max: number) => new GatewayError(429, 'TOO_MANY_CONNECTIONS',
    `Too many open connections from your IP address (at most ${max}, MAX_CONNECTIONS_PER_IP): close idle ones, or wait for running requests to finish.`, { headers: { 'retry-after': '1' } }),
  methodNotAllowed: (method: string, path: string, allow: string[]) => new GatewayError(405, 'METHOD_NOT_ALLOWED',
    `${method} is not allowed on ${path}: use ${allow.join(', ')}. See /docs for the API.`, { headers: { allow: allow.join(', ') } }),

  notFound: (message: string) => new GatewayError(404, 'NOT_FOUND', message),
  routeNotFound: (method: string, path: string) => new GatewayError(404, 'NOT_FOUND', `Route ${method} ${path} not found. See /docs for the API.`),
  /** Unknown, expired and someone else's sessions all get this same 404. */
  sessionNotFound: (sessionId: string) => new GatewayError(404, 'NOT_FOUND', `Session ${sessionId} not found (it may have expired).`),
  conversationNotFound: (conversationId: string) => new GatewayError(404, 'NOT_FOUND', `Conversation ${conversationId} not found.`),

  metricsUnauthorized: () => new GatewayError(401, 'UNAUTHORIZED', 'GET /metrics needs the header Authorization: Bearer <METRICS_TOKEN>.',
    { headers: { 'www-authenticate': 'Bearer realm="metrics"' } }),
  rateLimited: (message: string, retryAfterSeconds?: number) =>
    new GatewayError(429, 'RATE_LIMITED', message, retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(retryAfterSeconds) } }),
  conversationBusy: (timeoutMs: number) => new GatewayError(409, 'CONVERSATION_BUSY',
    `Another chat on this session or conversation is still running, and it did not finish within ${timeoutMs} ms (CHAT_QUEUE_TIMEOUT_MS). Retry when it has finished.`),
  toolOutputsUnsupported: () => new GatewayError(409, 'CONFLICT',
    'This bot asked for tool outputs, which the simple chat API cannot carry: use POST /api/v1/chat and POST /api/v1/chat/tool-outputs.'),
  notCancelable: (chatId: string, status: string | undefined, cause: GatewayError) => {
    const why = status === 'requires_action'
      ? 'is waiting for tool outputs (status "requires_action"): submit them with POST /api/v1/chat/tool-outputs'
      : `has already finished${status ? ` (status "${status}")` : ''}`
    return new GatewayError(409, 'CHAT_NOT_CANCELABLE',
      `The chat ${chatId} ${why}, so it can no longer be cancelled (Coze code 4104). Only a chat that is still in progress can be cancelled.`,
      { cozeCode: cause.cozeCode, logid: cause.logid, cause })
  },

  /** Coze answered something the gateway cannot read. */
  upstreamMalformed: (what: string, logid?: string) => upstreamError(`Coze sent ${what} the gateway could not read.`, logid),
  upstreamError,
  upstreamNotFound: (message: string) => new GatewayError(404, 'UPSTREAM_NOT_FOUND', message),
  /** A JSON answer that stopped before its end (the connection closed mid-body). */
  upstreamCutOff: (logid?: string, cause?: unknown) => new GatewayError(502, 'UPSTREAM_TRUNCATED', 'Coze\'s answer was truncated: the connection closed before the whole answer arrived. Retry the request.', { logid, cause }),
  uploadTimeout: (ms: number, logid?: string) =>
    new GatewayError(504, 'UPSTREAM_TIMEOUT', `Coze did not answer within ${ms} ms of receiving the upload (COZE_REQUEST_TIMEOUT_MS).`, { logid }),
  truncated: (message: string, logid?: string) => new GatewayError(502, 'UPSTREAM_TRUNCATED', message, { logid }),
  connectTimeout: (ms: number, logid?: string) =>
    new GatewayError(504, 'UPSTREAM_TIMEOUT', `Coze did not start streaming within ${ms} ms (COZE_CONNECT_TIMEOUT_MS).`, { logid }),
  idleTimeout: (ms: number, logid?: string) =>
    new GatewayError(504, 'UPSTREAM_TIMEOUT', `Coze went silent for ${ms} ms mid-stream (COZE_IDLE_TIMEOUT_MS); the output is incomplete.`, { logid }),
  /** No Coze access token can be had right now (an OAuth token refresh failed and no valid token is left). */
  upstreamAuthUnavailable: (message: string, opts: GatewayErrorOptions = {}) => new GatewayError(503, 'UPSTREAM_AUTH_UNAVAILABLE', message, opts),
  vendingUnavailable: () => new GatewayError(404, 'NOT_FOUND',
    'Token vending needs an OAuth JWT app (COZE_OAUTH_CONFIG_FILE, or COZE_OAUTH_APP_ID with its key): the gateway runs on personal access tokens, which cannot mint restricted tokens.'),
  shuttingDown: () => new GatewayError(503, 'SHUTTING_DOWN', 'The gateway is shutting down; retry the request.'),
  storeUnavailable: (cause: unknown) => new GatewayError(503, 'SESSION_STORE_UNAVAILABLE', 'The session store is unavailable; retry shortly.', { cause }),
  internal: (cause?: unknown, message = 'Internal server error.') => new GatewayError(500, 'INTERNAL_ERROR', message, { cause }),

  // Access control (src/access/). Messages never contain the key, nor its hash.
  keyMissing: () => unauthorized('An API key is required: send it as "Authorization: Bearer <key>" or in the "x-api-key" header.'),
  keyUnknown: () => unauthorized('The API key is not valid: check it, or ask the gateway operator for a key.'),
  keyExpired: (name: string, at: number) => unauthorized(`The API key "${name}" expired at ${new Date(at).toISOString()}: ask the gateway operator for a new key.`),
  keyDisabled: (name: string) => unauthorized(`The API key "${name}" is disabled: ask the gateway operator to enable it, or for another key.`),
  scopeMissing: (name: string, scope: string, path: string) =>
    forbidden(`The API key "${name}" does not have the "${scope}" scope, which ${path} needs.`),
  botNotAllowed: (botId: string, why: string) => forbidden(`The bot ${botId} is not allowed: ${why}.`),
  workflowNotAllowed: (workflowId: string, why: string) => forbidden(`The workflow ${workflowId} is not allowed: ${why}.`),
  originNotAllowed: (origin: string) => forbidden(`origin not allowed: ${origin} is not in the gateway's CORS_ORIGINS.`),
  keyOriginNotAllowed: (name: string, origin: string | undefined) => forbidden(
    `origin not allowed: the API key "${name}" is a publishable key, accepted only from its listed origins${origin ? `, and ${origin} is not one of them` : ', and this request has no Origin header'}.`),
  keyRateLimited: (rpm: number, seconds: number, perClient: boolean) => new GatewayError(429, 'RATE_LIMITED',
    `Rate limit of the API key exceeded: ${rpm} requests per minute${perClient ? ' per client IP' : ''}. Retry in ${Math.max(1, Math.ceil(seconds))} s.`, { headers: retryAfter(seconds) }),
  quotaExceeded: (name: string, dailyTokens: number, resetsAt: number) => new GatewayError(429, 'QUOTA_EXCEEDED',
    `The API key "${name}" has used its daily budget of ${dailyTokens} Coze tokens. It resets at ${new Date(resetsAt).toISOString()} (midnight UTC).`,
    { headers: retryAfter((resetsAt - Date.now()) / 1000) }),
  tooManyStreams: (name: string, max: number) => new GatewayError(429, 'TOO_MANY_STREAMS',
    `The API key "${name}" already has ${max} open stream${max === 1 ? '' : 's'} (its max_streams): close one, or retry when one has finished.`, { headers: retryAfter(1) }),
  limitStoreUnavailable: (cause: unknown) => new GatewayError(503, 'LIMIT_STORE_UNAVAILABLE', 'The store of the API key limits (Redis) is unavailable; retry shortly.', { cause })
}
