// POST /api/v1/upload with XMLHttpRequest: fetch has no upload progress.
import { ApiError } from './api.js'

/**
 * Uploads one file. onProgress(fraction 0..1). Resolves the envelope's data
 * { file_id, file_name, bytes }; rejects with ApiError (the gateway's message).
 * Returns { promise, abort }.
 */
export function uploadFile (file, { headers, onProgress, onUnauthorized }) {
  const xhr = new XMLHttpRequest()
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', '/api/v1/upload')
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v)
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total) })
    xhr.addEventListener('load', () => {
      let body = null
      try { body = JSON.parse(xhr.responseText) } catch { /* not JSON: use the status */ }
      if (xhr.status >= 200 && xhr.status < 300 && body?.success !== false) {
        onProgress(1)
        resolve(body.data)
        return
      }
      const err = new ApiError({
        status: xhr.status,
        code: body?.code || `HTTP_${xhr.status}`,
        message: body?.message || `Upload failed with HTTP ${xhr.status}`,
        logid: body?.logid || xhr.getResponseHeader('x-coze-logid') || undefined,
        cozeCode: body?.coze_code
      })
      if (xhr.status === 401) onUnauthorized?.(err)
      reject(err)
    })
    xhr.addEventListener('error', () => reject(new ApiError({ status: 0, code: 'NETWORK_ERROR', message: 'The upload could not reach the gateway.' })))
    xhr.addEventListener('abort', () => reject(new DOMException('Upload cancelled', 'AbortError')))
    const form = new FormData()
    form.append('file', file, file.name)
    xhr.send(form)
  })
  return { promise, abort: () => xhr.abort() }
}
