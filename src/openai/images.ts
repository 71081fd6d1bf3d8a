// The bytes behind an OpenAI `image_url` (or `file.file_data`) part: a data: URL decoded,
// or an http(s) URL fetched with a size and time bound. Every failure is a 400 that says
// which part and why, raised before anything is sent to Coze.
import dns from 'node:dns'
import net from 'node:net'
import type { Agent } from 'undici'
import { ClientAbortError } from '../errors.js'
import { InvalidParamError } from './errors.js'

export interface ImageLimits {
  maxBytes: number
  timeoutMs: number
  /** false: refuse URLs that resolve to loopback, private or link-local addresses (SSRF) */
  allowPrivate: boolean
}

export type FileSource =
  | { kind: 'inline', data: Buffer, fileName: string }
  | { kind: 'remote', url: URL }

export interface LoadedFile { data: Buffer, fileName: string }

const MAX_REDIRECTS = 5
const EXT_BY_MIME: Record<string, string> = {
  'image/png': 'png', 'image/jpeg': 'jpg', 'image/jpg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp',
  'image/bmp': 'bmp', 'image/svg+xml': 'svg', 'image/tiff': 'tiff', 'image/heic': 'heic', 'application/pdf': 'pdf',
  'text/plain': 'txt'
}

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024 * 10) / 10} MB`

/** Checks an image_url string and decodes a data: URL; no network yet. */
export function parseImageUrl (url: string, param: string, limits: ImageLimits): FileSource {
  const text = url.trim()
  if (/^data:/i.test(text)) return decodeDataUrl(text, param, limits, 'image')
  let u: URL
  try { u = new URL(text) } catch { throw invalid(param, 'image_url.url must be an http(s) URL or a data: URL (data:image/png;base64,...)') }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(param, `image_url.url must be an http(s) URL or a data: URL, not ${u.protocol}`)
  return { kind: 'remote', url: u }
}

/** `file.file_data`: a data: URL or bare base64. */
export function parseFileData (data: string, fileName: string | undefined, param: string, limits: ImageLimits): FileSource {
  const text = data.trim()
  const src = decodeDataUrl(/^data:/i.test(text) ? text : `data:application/octet-stream;base64,${text}`, param, limits, 'file')
  return fileName && src.kind === 'inline' ? { ...src, fileName: safeName(fileName) ?? src.fileName } : src
}

function decodeDataUrl (text: string, param: string, limits: ImageLimits, what: 'image' | 'file'): FileSource {
  const comma = text.indexOf(',')
  if (comma === -1) throw invalid(param, `the data: URL has no "," before its data (expected data:<type>;base64,<data>)`)
  const meta = text.slice(5, comma).toLowerCase()
  const payload = text.slice(comma + 1)
  const mime = meta.split(';')[0] || 'application/octet-stream'
  let data: Buffer
  if (meta.endsWith(';base64')) {
    const clean = payload.replace(/\s+/g, '')
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) throw invalid(param, `the data: URL is not valid base64`)
    if (Math.floor(clean.length * 3 / 4) > limits.maxBytes + 2) throw tooLarge(param, what, limits)
    data = Buffer.from(clean, 'base64')
  } else {
    try { data = Buffer.from(decodeURIComponent(payload), 'utf8') } catch { throw invalid(param, 'the data: URL is not valid percent-encoding') }
  }
  if (data.length === 0) throw invalid(param, `the data: URL holds no data`)
  if (data.length > limits.maxBytes) throw tooLarge(param, what, limits)
  return { kind: 'inline', data, fileName: `${what}.${EXT_BY_MIME[mime] ?? 'bin'}` }
}

/** Fetches remote sources with the limits; one instance per app (it owns connection pools, made on the first fetch). */
export class FileLoader {
  private agent: Agent | undefined

  constructor (private readonly limits: ImageLimits) {}

  async load (src: FileSource, param: string, signal?: AbortSignal): Promise<LoadedFile> {
    if (src.kind === 'inline') return { data: src.data, fileName: src.fileName }
    const deadline = AbortSignal.timeout(this.limits.timeoutMs)
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline
    try {
      return await this.fetch(src.url, param, combined)
    } catch (err) {
      if (signal?.aborted) throw new ClientAbortError()
      if (err instanceof InvalidParamError) throw err
      if (deadline.aborted) throw invalid(param, `could not fetch the image at ${shown(src.url)}: no complete answer within ${this.limits.timeoutMs} ms (OPENAI_IMAGE_FETCH_TIMEOUT_MS)`)
      if ((err as { code?: string }).code === 'EPRIVATEADDRESS') throw blocked(param, src.url)
      // Never the errno or the remote status: they would make this a port scanner.
      throw cannotFetch(param, src.url)
    }
  }

  async close (): Promise<void> { await this.agent?.close() }

  private async fetch (start: URL, param: string, signal: AbortSignal): Promise<LoadedFile> {
    let url = start
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      if (!this.limits.allowPrivate && isPrivateLiteral(url.hostname)) throw blocked(param, start)
      // undici is loaded by the first image fetched (or the first Coze stream), not at start
      const { Agent, request } = await import('../undici.js')
      this.agent ??= new Agent({ connections: 16, ...(this.limits.allowPrivate ? {} : { connect: { lookup: publicOnlyLookup } }) })
      const res = await request(url, { method: 'GET', signal, dispatcher: this.agent, headers: { accept: 'image/*,*/*;q=0.5', 'user-agent': 'coze-gateway' } })
      // A body dropped early (redirect, error, too large) emits an abort error: never let it go uncaught.
      res.body.on('error', () => {})
      const location = res.headers.location
      if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
        res.body.destroy()
        url = new URL(location, url)
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(param, `the image URL redirects to an unsupported ${url.protocol} URL`)
        continue
      }
      if (res.statusCode !== 200) {
        res.body.destroy()
        throw cannotFetch(param, start)
      }
      const declared = Number(res.headers['content-length'])
      if (declared > this.limits.maxBytes) {
        res.body.destroy()
        throw tooLarge(param, 'image', this.limits)
      }
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length
        if (size > this.limits.maxBytes) {
          res.body.destroy()
          throw tooLarge(param, 'image', this.limits)
        }
        chunks.push(chunk as Buffer)
      }
      if (size === 0) throw invalid(param, `the image at ${shown(url)} is empty`)
      const mime = String(res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
      return { data: Buffer.concat(chunks, size), fileName: nameFromUrl(url) ?? `image.${EXT_BY_MIME[mime] ?? 'bin'}` }
    }
    throw invalid(param, `could not fetch the image at ${shown(start)}: more than ${MAX_REDIRECTS} redirects`)
  }
}

const invalid = (param: string, message: string) => new InvalidParamError(param, `${param}: ${message}`, 'invalid_image_url')
const tooLarge = (param: string, what: string, limits: ImageLimits) =>
  new InvalidParamError(param, `${param}: the ${what} is larger than ${mb(limits.maxBytes)} (OPENAI_IMAGE_MAX_MB)`, 'image_too_large')
const cannotFetch = (param: string, url: URL) => invalid(param, `could not fetch the image at ${shown(url)}`)
const blocked = (param: string, url: URL) =>
  invalid(param, `could not fetch the image at ${shown(url)}: this gateway does not fetch loopback, private or link-local addresses (OPENAI_IMAGE_ALLOW_PRIVATE=false)`)

/** The URL as shown in messages: no credentials, no query (it may hold a signature). */
function shown (u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`.slice(0, 200)
}

function nameFromUrl (u: URL): string | undefined {
  const last = decodeURIComponentSafe(u.pathname.split('/').pop() ?? '')
  return /\.[A-Za-z0-9]{2,5}$/.test(last) ? safeName(last) : undefined
}

function safeName (name: string): string | undefined {
  const s = name.replace(/[^\w.\- ]+/g, '_').slice(-100)
  return s.replace(/[_.\s]/g, '') ? s : undefined
}

function decodeURIComponentSafe (s: string): string {
  try { return decodeURIComponent(s) } catch { return s }
}

const PRIVATE = new net.BlockList()
for (const [net4, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3]] as const) PRIVATE.addSubnet(net4, prefix, 'ipv4')
for (const [net6, prefix] of [['::', 127], ['64:ff9b::', 96], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8]] as const) PRIVATE.addSubnet(net6, prefix, 'ipv6')

export function isPrivateAddress (address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4')
  const family = net.isIP(address)
  if (family === 0) return false
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

function isPrivateLiteral (hostname: string): boolean {
  return isPrivateAddress(hostname.replace(/^\[|\]$/g, ''))
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void

/** net.connect lookup that refuses private addresses (only used with OPENAI_IMAGE_ALLOW_PRIVATE=false). */
function publicOnlyLookup (hostname: string, options: dns.LookupOptions, cb: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return cb(err, '')
    const list = addresses
    if (list.length === 0 || list.some((a) => isPrivateAddress(a.address))) {
      const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to a private address, which this gateway does not fetch (OPENAI_IMAGE_ALLOW_PRIVATE=false)`)
      e.code = 'EPRIVATEADDRESS'
      return cb(e, '')
    }
    if (options.all) return cb(null, list)
    cb(null, list[0]!.address, list[0]!.family)
  })
}
