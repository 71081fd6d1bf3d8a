// The one Coze → gateway error mapping. Keyed on the Coze business `code` first (Coze
// sends most errors as HTTP 200 with a non-zero code), then on what the SDK could tell
// about the HTTP exchange. The SDK's `.status` is a class constant, so it is not trusted.
import { loadedSdk, type SdkModule } from './sdk.js'
import { GatewayError, errors, type ErrorCode } from '../errors.js'

/** What the failed call was about, for messages that say what to check. */
export type CozeResource = 'workflow' | 'chatflow' | 'bot'

interface CodeRule { status: number, code: ErrorCode, message: (msg: string, resource?: CozeResource) => string }

const REGION_HINT = 'Check COZE_API_TOKEN, that it has not expired and has the needed scopes, ' +
  'and that COZE_API_BASE matches the account region (https://api.coze.cn for coze.cn, https://api.coze.com for coze.com).'

/** Documented in README "Error mapping"; keep the two in step. */
export const COZE_CODE_RULES: Record<number, CodeRule> = {
  4000: { status: 400, code: 'UPSTREAM_BAD_REQUEST', message: (m) => `Coze rejected a request parameter: ${m}` },
  4100: { status: 502, code: 'UPSTREAM_AUTH', message: () => `Coze rejected the gateway's API token (Coze code 4100). ${REGION_HINT}` },
  4101: { status: 502, code: 'UPSTREAM_AUTH', message: () => `Coze refused the gateway's API token (Coze code 4101: wrong token or no permission). ${REGION_HINT}` },
  4013: { status: 429, code: 'UPSTREAM_RATE_LIMITED', message: () => 'Coze rate limit reached (Coze code 4013). Retry later.' },
  4015: { status: 404, code: 'UPSTREAM_NOT_FOUND', message: (m) => `The bot is not published to the Agent-as-API channel (Coze code 4015): publish it in Coze, then retry. ${m}`.trim() },
  4016: { status: 409, code: 'CONVERSATION_BUSY', message: () => 'This conversation already has a chat in progress (Coze code 4016). Wait for it to finish, or use another conversation.' },
  4019: { status: 402, code: 'QUOTA_EXCEEDED', message: (m) => `The Coze account has no quota or balance left (Coze code 4019). ${m}`.trim() },
  4104: { status: 409, code: 'CHAT_NOT_CANCELABLE', message: () => 'The chat has already finished and can no longer be cancelled (Coze code 4104).' },
  4200: {
    status: 404,
    code: 'UPSTREAM_NOT_FOUND',
    message: (m, r) => (r === 'workflow'
      ? `Coze could not find the workflow (Coze code 4200): check the workflow id, and that the workflow is published (Coze runs only published workflows through the API). ${m}`
      : r === 'chatflow'
        ? `Coze could not find the chatflow (Coze code 4200): check the workflow id and that the chatflow is published (and its app_id or bot_id, if given). ${m}`
      : r === 'bot'
        ? `Coze could not find the bot (Coze code 4200): check the bot id, and that the bot is published to the API channel. ${m}`
        : `Coze could not find the resource (Coze code 4200): check the bot, workflow or conversation id, and that it is published to the API channel. ${m}`).trim()
  },
  6003: {
    status: 402,
    code: 'PREMIUM_REQUIRED',
    message: (_m, r) => r === 'workflow'
      ? 'Asynchronous workflow runs (is_async) need a paid Coze plan (Coze code 6003): upgrade the Coze account, or run the workflow without is_async.'
      : 'This Coze feature (e.g. asynchronous workflow runs) needs a paid Coze plan (Coze code 6003).'
  }
}

/** A Coze business error (code/msg) turned into a gateway error. */
export function fromCozeCode (cozeCode: number, msg: string, logid?: string, cause?: unknown, resource?: CozeResource): GatewayError {
  const rule = COZE_CODE_RULES[cozeCode]
  if (rule) return new GatewayError(rule.status, rule.code, rule.message(msg ?? '', resource), { cozeCode, logid, cause })
  return new GatewayError(502, 'UPSTREAM_ERROR', `Coze reported an error (Coze code ${cozeCode}): ${msg || 'no message'}`, { cozeCode, logid, cause })
}

const isHttpStatus = (code: unknown): code is number => typeof code === 'number' && code >= 100 && code <= 599

const NETWORK_ERROR = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|ENETUNREACH|socket hang up|other side closed/i

/** Any error thrown by an SDK call → GatewayError; `resource` sharpens not-found messages. */
export function toGatewayError (err: unknown, resource?: CozeResource): GatewayError {
  if (err instanceof GatewayError) return err
  const sdk = loadedSdk()
  if (sdk) {
    const e = fromSdkError(err, sdk, resource)
    if (e) return e
  }
  const e = err as { code?: string, message?: string }
  if (e && typeof e.message === 'string' && NETWORK_ERROR.test(`${e.code ?? ''} ${e.message}`)) {
    return new GatewayError(503, 'UPSTREAM_UNAVAILABLE', 'Coze is unreachable at the configured COZE_API_BASE.', { cause: err })
  }
  return new GatewayError(502, 'UPSTREAM_ERROR', 'Unexpected failure while talking to Coze.', { cause: err })
}

/** The SDK's own errors (only possible once it is loaded). */
function fromSdkError (err: unknown, { APIError, APIUserAbortError, TimeoutError, CozeError }: SdkModule, resource?: CozeResource): GatewayError | undefined {
  if (err instanceof TimeoutError) {
    return new GatewayError(504, 'UPSTREAM_TIMEOUT', 'Coze did not answer in time.', { logid: err.logid ?? undefined, cause: err })
  }
  if (err instanceof APIUserAbortError) {
    return new GatewayError(503, 'UPSTREAM_UNAVAILABLE', 'The request to Coze was aborted.', { cause: err })
  }
  if (err instanceof APIError) {
    const logid = err.logid ?? undefined
    // On JSON calls the SDK puts the HTTP status of a non-2xx answer in `code` (Coze's own codes have 4 digits).
    if (typeof err.code === 'number' && err.code !== 0 && !isHttpStatus(err.code)) return fromCozeCode(err.code, err.msg ?? '', logid, err, resource)
    if (!err.headers) {
      // No response at all: the connection failed.
      return new GatewayError(503, 'UPSTREAM_UNAVAILABLE', `Coze is unreachable at the configured COZE_API_BASE (${NETWORK_ERROR.exec(err.message)?.[0] ?? err.message}).`, { cause: err })
    }
    const status = isHttpStatus(err.code) ? err.code : err.status ?? 0
    // A 2xx that failed: the body broke off mid-way.
    if (status >= 200 && status < 300) return errors.upstreamCutOff(logid, err)
    if (status === 429) return new GatewayError(429, 'UPSTREAM_RATE_LIMITED', 'Coze rate limit reached (HTTP 429). Retry later.', { logid, cause: err })
    if (status === 401 || status === 403) return new GatewayError(502, 'UPSTREAM_AUTH', `Coze rejected the gateway's API token (HTTP ${status}). ${REGION_HINT}`, { logid, cause: err })
    if (status === 404) return new GatewayError(404, 'UPSTREAM_NOT_FOUND', 'Coze answered 404: check the id in the request.', { logid, cause: err })
    if (status === 400) return new GatewayError(400, 'UPSTREAM_BAD_REQUEST', 'Coze rejected the request (HTTP 400).', { logid, cause: err })
    return new GatewayError(502, 'UPSTREAM_ERROR', `Coze answered with an HTTP error${status >= 500 ? ' (server error)' : ` (${status})`}.`, { logid, cause: err })
  }
  if (err instanceof CozeError) {
    return new GatewayError(502, 'UPSTREAM_ERROR', `Coze sent an answer the gateway could not read: ${err.message.slice(0, 200)}`, { cause: err })
  }
  return undefined
}
