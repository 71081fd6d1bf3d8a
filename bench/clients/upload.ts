// Upload client: sends the same multipart body (a `file` part of random bytes) to each
// target in turn and times it to the end of the response. argv[2]: JSON UploadInput;
// last stdout line: JSON UploadResult[].
import http from 'node:http'
import { randomBytes } from 'node:crypto'

export interface UploadTarget { name: string, url: string, headers?: Record<string, string> }

export interface UploadInput {
  targets: UploadTarget[]
  bytes: number
}

export interface UploadResult {
  name: string
  ms: number
  status: number
  /** bytes the server says it stored (data.bytes) */
  storedBytes: number
  error?: string
}

const input = JSON.parse(process.argv[2] ?? '{}') as UploadInput
const boundary = `----bench${randomBytes(8).toString('hex')}`
const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="bench.bin"\r\ncontent-type: application/octet-stream\r\n\r\n`)
const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
const file = randomBytes(input.bytes)
const CHUNK = 64 * 1024

function upload (t: UploadTarget): Promise<UploadResult> {
  return new Promise((resolve) => {
    const start = performance.now()
    const req = http.request(t.url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + file.length + tail.length, ...t.headers }
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => {
        let stored = NaN
        try {
          const j = JSON.parse(text) as { data?: { bytes?: number } }
          stored = j.data?.bytes ?? NaN
        } catch { /* not JSON */ }
        resolve({ name: t.name, ms: performance.now() - start, status: res.statusCode ?? 0, storedBytes: stored, ...(res.statusCode === 200 ? {} : { error: text.slice(0, 300) }) })
      })
    })
    req.on('error', (e) => resolve({ name: t.name, ms: NaN, status: 0, storedBytes: NaN, error: e.message }))
    // Written in 64 KB pieces with backpressure, as a browser or curl would stream a file.
    const write = async () => {
      req.write(head)
      for (let off = 0; off < file.length; off += CHUNK) {
        if (!req.write(file.subarray(off, off + CHUNK))) await new Promise((r) => req.once('drain', r))
      }
      req.end(tail)
    }
    void write()
  })
}

const out: UploadResult[] = []
for (const t of input.targets) out.push(await upload(t))
console.log(JSON.stringify(out))
