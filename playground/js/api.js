// The gateway's public API, same origin: JSON envelopes and SSE streams. Every call
// carries the gateway API key as a Bearer token when one is set.
import { readSse } from './sse.js'

export class ApiError extends Error {
  constructor ({ status, code, message, logid, cozeCode }) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.logid = logid
    this.cozeCode = cozeCode
  }
}

/**
 * getKey(): the API key or ''. onUnauthorized(error): a 401 came back, so the gateway
 * wants a key (another one, if one was sent).
 */
export function createApi ({ getKey, onUnauthorized }) {
  const headers = (extra = {}) => {
    const key = getKey()
    return key ? { ...extra, Authorization: `Bearer ${key}` } : { ...extra }
  }

  const networkError = (err) => new ApiError({ status: 0, code: 'NETWORK_ERROR', message: `Could not reach the gateway: ${err.message}` })

  /** A non-2xx answer (or success: false) → ApiError with the envelope's code, message and logid. */
  async function errorOf (res, body) {
    if (body === undefined) {
      const text = await res.text().catch(() => '')
      try { body = JSON.parse(text) } catch { body = { message: text.slice(0, 300) } }
    }
    const err = new ApiError({
      status: res.status,
      code: body?.code || body?.error?.code || (res.status === 401 ? 'UNAUTHORIZED' : `HTTP_${res.status}`),
      message: body?.message || body?.error?.message || body?.detail || `${res.status} ${res.statusText}`.trim(),
      logid: body?.logid || res.headers.get('x-coze-logid') || undefined,
      cozeCode: body?.coze_code
    })
    if (res.status === 401) onUnauthorized?.(err)
    return err
  }

  async function send (method, path, body) {
    const init = { method, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) }
    if (body !== undefined) init.body = JSON.stringify(body)
    let res
    try { res = await fetch(path, init) } catch (err) { throw networkError(err) }
    if (!res.ok) throw await errorOf(res)
    const envelope = await res.json()
    if (envelope?.success === false) throw await errorOf(res, envelope)
    return envelope
  }

  /**
   * POSTs a streaming request. onOpen(response) once the headers are in; onBlock(block)
   * for every SSE block as it came (heartbeats included); onFrame(frame) for every data
   * frame, parsed. Errors before the stream (a JSON envelope) throw ApiError; an abort
   * throws the AbortError. Resolves { ended, rest }: ended = an `end` frame was seen.
   */
  async function stream (path, body, { signal, onOpen, onBlock, onFrame }) {
    let res
    try {
      res = await fetch(path, {
        method: 'POST',
        headers: headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
        body: JSON.stringify(body),
        signal
      })
    } catch (err) {
      if (err.name === 'AbortError') throw err
      throw networkError(err)
    }
    onOpen?.(res)
    if (!res.ok) throw await errorOf(res)
    if (!(res.headers.get('content-type') || '').includes('text/event-stream')) {
      const envelope = await res.json().catch(() => ({}))
      if (envelope.success === false) throw await errorOf(res, envelope)
      throw new ApiError({ status: res.status, code: 'NOT_A_STREAM', message: 'The gateway answered JSON where a stream was asked for.', logid: res.headers.get('x-coze-logid') || undefined })
    }
    let ended = false
    const rest = await readSse(res.body, (block) => {
      onBlock?.(block)
      if (block.data === null) return
      let frame
      try {
        frame = JSON.parse(block.data)
      } catch {
        frame = { type: 'error', code: 'BAD_FRAME', message: `A frame that is not JSON: ${block.data.slice(0, 200)}` }
      }
      if (frame.type === 'end') ended = true
      onFrame(frame)
    })
    return { ended, rest }
  }

  return {
    get: (path) => send('GET', path),
    post: (path, body = {}) => send('POST', path, body),
    del: (path) => send('DELETE', path),
    stream,
    headers
  }
}

/** Query string from an object, leaving out empty values. */
export function query (params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** Server-Timing header → [{ name, dur, desc }] */
export function parseServerTiming (header) {
  if (!header) return []
  return header.split(',').map((part) => {
    const [name, ...params] = part.trim().split(';')
    const entry = { name: name.trim() }
    for (const p of params) {
      const eq = p.indexOf('=')
      if (eq === -1) continue
      const key = p.slice(0, eq).trim().toLowerCase()
      const value = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')
      if (key === 'dur') entry.dur = Number(value)
      else if (key === 'desc') entry.desc = value
    }
    return entry
  }).filter((e) => e.name)
}
