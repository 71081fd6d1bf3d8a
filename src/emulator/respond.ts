import type { ServerResponse } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { StreamFault } from './faults.js'
import { cozeMessage } from './errors.js'

/**
 * Writes a JSON body. Never a trailing newline: on stream calls the SDK only sees an error
 * body when it does not end with `\n` (protocol §2.3, §12.6).
 */
export function sendJson (res: ServerResponse, logid: string, body: unknown, status = 200, fault?: StreamFault): void {
  const text = JSON.stringify(body)
  if (fault !== undefined && fault.kind === 'truncate') {
    // announce the whole length, send half of it, then cut the connection
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-tt-logid': logid
    })
    res.write(text.slice(0, Math.floor(text.length / 2)), () => res.destroy())
    return
  }
  const payload = fault !== undefined && fault.kind === 'malformed' ? text.slice(0, Math.floor(text.length / 2)) + '<<malformed>>' : text
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'x-tt-logid': logid
  })
  res.end(payload)
}

export function sendOk (res: ServerResponse, logid: string, data: unknown, fault?: StreamFault): void {
  sendJson(res, logid, { code: 0, msg: '', data, detail: { logid } }, 200, fault)
}

/** Like sendOk, for the endpoints whose payload fields sit at the top level. */
export function sendOkTop (res: ServerResponse, logid: string, fields: Record<string, unknown>, fault?: StreamFault): void {
  sendJson(res, logid, { code: 0, msg: '', ...fields, detail: { logid } }, 200, fault)
}

/** A Coze business error: HTTP 200 with a non-zero numeric code. */
export function sendCozeError (res: ServerResponse, logid: string, code: number, msg?: string): void {
  sendJson(res, logid, { code, msg: msg ?? cozeMessage(code), detail: { logid } })
}

/** A non-2xx answer (as a front proxy would give), still with the envelope and the logid. */
export function sendHttpStatus (res: ServerResponse, logid: string, status: number, msg?: string, retryAfter?: number): void {
  if (retryAfter !== undefined) res.setHeader('retry-after', String(retryAfter))
  sendJson(res, logid, { code: status, msg: msg ?? STATUS_CODES[status] ?? 'error', detail: { logid } }, status)
}

/** An OAuth endpoint error, in the documented shape `{error_code, error_message}` with a 4xx status. */
export function sendOAuthError (res: ServerResponse, logid: string, status: number, errorCode: string, errorMessage: string): void {
  sendJson(res, logid, { error_code: errorCode, error_message: errorMessage }, status)
}

/** A binary answer (audio). truncate announces the whole length and cuts halfway; malformed spoils the bytes. */
export function sendBytes (res: ServerResponse, logid: string, contentType: string, data: Buffer, fault?: StreamFault): void {
  const half = data.subarray(0, Math.floor(data.length / 2))
  const body = fault?.kind === 'malformed' ? Buffer.concat([half, Buffer.from('<<malformed>>')]) : data
  res.writeHead(200, { 'content-type': contentType, 'content-length': fault?.kind === 'truncate' ? data.length : body.length, 'x-tt-logid': logid })
  if (fault?.kind === 'truncate') {
    res.write(half, () => res.destroy())
    return
  }
  res.end(body)
}
