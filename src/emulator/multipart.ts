/** Minimal multipart/form-data reader: enough for `POST /v1/files/upload` (one `file` part). */

export interface UploadedPart {
  name: string
  fileName: string | undefined
  contentType: string
  data: Buffer
}

export function boundaryOf (contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return undefined
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return m ? (m[1] ?? m[2]) : undefined
}

const CRLFCRLF = Buffer.from('\r\n\r\n')

export function parseMultipart (body: Buffer, boundary: string): UploadedPart[] {
  const delimiter = Buffer.from('--' + boundary)
  const parts: UploadedPart[] = []
  let pos = body.indexOf(delimiter)
  while (pos !== -1) {
    let start = pos + delimiter.length
    // `--` after the delimiter closes the body
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2
    const headerEnd = body.indexOf(CRLFCRLF, start)
    if (headerEnd === -1) break
    const next = body.indexOf(Buffer.from('\r\n--' + boundary), headerEnd + 4)
    if (next === -1) break
    const headers = body.subarray(start, headerEnd).toString('utf8')
    const data = body.subarray(headerEnd + 4, next)
    const disposition = /content-disposition:([^\r\n]*)/i.exec(headers)?.[1] ?? ''
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? ''
    const fileNameStar = /filename\*=(?:UTF-8'')?([^;\r\n]+)/i.exec(disposition)?.[1]
    const fileNamePlain = /\bfilename="([^"]*)"/i.exec(disposition)?.[1]
    let fileName = fileNamePlain
    if (fileNameStar !== undefined) {
      try { fileName = decodeURIComponent(fileNameStar.trim()) } catch { fileName = fileNameStar.trim() }
    }
    const contentType = /content-type:\s*([^\r\n]*)/i.exec(headers)?.[1]?.trim() ?? 'application/octet-stream'
    parts.push({ name, fileName, contentType, data })
    pos = next + 2
  }
  return parts
}
