// Gateway API keys: the keys file (GATEWAY_KEYS_FILE), the quick list of raw keys
// (GATEWAY_API_KEYS), and the lookup of a presented key. Only SHA-256 hashes are kept;
// a presented key is hashed and compared with every stored hash in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'

export const SCOPES = ['chat', 'sessions', 'files', 'workflows', 'openai', 'account', 'vend'] as const
export type Scope = typeof SCOPES[number]

/** A key entry as written in the keys file. */
export interface KeyEntry {
  id: string
  name: string
  hash: string
  scopes: Scope[]
  bots?: string[]
  workflows?: string[]
  rpm?: number
  max_streams?: number
  daily_tokens?: number
  expires_at?: string
  disabled?: boolean
  origins?: string[]
  metadata?: Record<string, unknown>
}

/** An id list of a key: `["*"]` is every id; a missing list is none. */
export interface IdList { all: boolean, ids: ReadonlySet<string> }

/** A configured key, compiled for checks. Carried on the request as `request.principal`. */
export interface ApiKey {
  readonly id: string
  readonly name: string
  readonly scopes: ReadonlySet<Scope>
  readonly bots: IdList
  readonly workflows: IdList
  readonly rpm: number | undefined
  readonly maxStreams: number | undefined
  readonly dailyTokens: number | undefined
  /** epoch ms */
  readonly expiresAt: number | undefined
  readonly disabled: boolean
  /** Publishable key: accepted only from these origins */
  readonly origins: ReadonlySet<string> | undefined
  readonly hash: Buffer
}

export class KeyFileError extends Error {}

const FIELDS = new Set(['id', 'name', 'hash', 'scopes', 'bots', 'workflows', 'rpm', 'max_streams', 'daily_tokens', 'expires_at', 'disabled', 'origins', 'metadata'])
const ID = /^[A-Za-z0-9_.-]{1,64}$/
const HASH = /^[0-9a-f]{64}$/
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/

export function hashKey (raw: string): string {
  return createHash('sha256').update(raw, 'utf8').digest('hex')
}

/** A new random key: `cgw_` and 32 random bytes, base64url. */
export function generateKey (): string {
  return `cgw_${randomBytes(32).toString('base64url')}`
}

/** An origin as browsers send it: scheme://host[:port], lower case, no path. undefined when it is not one. */
export function normalizeOrigin (text: string): string | undefined {
  let u: URL
  try { u = new URL(text) } catch { return undefined }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin === 'null') return undefined
  if (text.replace(/\/$/, '').toLowerCase() !== u.origin.toLowerCase()) return undefined
  return u.origin
}

/** Checks one entry; the error names the field. */
function checkEntry (e: unknown): KeyEntry {
  if (!e || typeof e !== 'object' || Array.isArray(e)) throw new KeyFileError('must be an object')
  const o = e as Record<string, unknown>
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw new KeyFileError(`unknown field "${k}" (the fields are ${[...FIELDS].join(', ')})`)
  const str = (k: string, re?: RegExp, what?: string) => {
    const v = o[k]
    if (typeof v !== 'string' || !v.trim()) throw new KeyFileError(`"${k}" must be a non-empty string`)
    if (re && !re.test(v)) throw new KeyFileError(`"${k}" must be ${what}`)
  }
  str('id', ID, '1 to 64 letters, digits, _ . or -')
  str('name')
  str('hash', HASH, 'the SHA-256 of the key as 64 lowercase hex characters (npm run keys -- hash <key>)')
  const list = (k: string, required: boolean, check?: (v: string, i: number) => void) => {
    const v = o[k]
    if (v === undefined && !required) return
    if (!Array.isArray(v)) throw new KeyFileError(`"${k}" must be a list`)
    v.forEach((x, i) => {
      if (typeof x !== 'string' || !x.trim()) throw new KeyFileError(`"${k}"[${i}] must be a non-empty string`)
      check?.(x, i)
    })
  }
  list('scopes', true, (s, i) => { if (!(SCOPES as readonly string[]).includes(s)) throw new KeyFileError(`"scopes"[${i}] "${s}" is not a scope (one of ${SCOPES.join(', ')})`) })
  list('bots', false)
  list('workflows', false)
  list('origins', false, (s, i) => { if (!normalizeOrigin(s)) throw new KeyFileError(`"origins"[${i}] "${s}" must be an origin such as https://www.example.com (scheme, host and port, no path)`) })
  for (const k of ['rpm', 'max_streams', 'daily_tokens']) {
    const v = o[k]
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1)) throw new KeyFileError(`"${k}" must be a whole number of at least 1`)
  }
  if (o.expires_at !== undefined && (typeof o.expires_at !== 'string' || !ISO_8601.test(o.expires_at) || Number.isNaN(Date.parse(o.expires_at)))) {
    throw new KeyFileError('"expires_at" must be an ISO 8601 date or date-time, e.g. 2026-12-31T23:59:59Z')
  }
  if (o.disabled !== undefined && typeof o.disabled !== 'boolean') throw new KeyFileError('"disabled" must be true or false')
  if (o.metadata !== undefined && (!o.metadata || typeof o.metadata !== 'object' || Array.isArray(o.metadata))) throw new KeyFileError('"metadata" must be an object')
  return o as unknown as KeyEntry
}

const idList = (v: string[] | undefined): IdList => ({ all: v?.includes('*') ?? false, ids: new Set(v ?? []) })

export function compileKey (e: KeyEntry): ApiKey {
  return {
    id: e.id,
    name: e.name,
    scopes: new Set(e.scopes),
    bots: idList(e.bots),
    workflows: idList(e.workflows),
    rpm: e.rpm,
    maxStreams: e.max_streams,
    dailyTokens: e.daily_tokens,
    expiresAt: e.expires_at === undefined ? undefined : Date.parse(e.expires_at),
    disabled: e.disabled === true,
    origins: e.origins ? new Set(e.origins.map((s) => normalizeOrigin(s)!)) : undefined,
    hash: Buffer.from(e.hash, 'hex')
  }
}

/** Parses a keys file's text; the error is one line naming the entry and the field. */
export function parseKeysFile (text: string): KeyEntry[] {
  let doc: unknown
  try { doc = JSON.parse(text) } catch (err) { throw new KeyFileError(`not valid JSON (${(err as Error).message})`) }
  if (!doc || typeof doc !== 'object' || !Array.isArray((doc as { keys?: unknown }).keys)) throw new KeyFileError('must be a JSON object {"keys": [ ... ]}')
  const extra = Object.keys(doc).filter((k) => k !== 'keys')
  if (extra.length) throw new KeyFileError(`unknown top-level field "${extra[0]}" (the file is {"keys": [ ... ]})`)
  const entries = (doc as { keys: unknown[] }).keys
  const ids = new Set<string>()
  const hashes = new Set<string>()
  return entries.map((e, i) => {
    const label = `keys[${i}]${e && typeof e === 'object' && typeof (e as { id?: unknown }).id === 'string' ? ` (id "${(e as { id: string }).id}")` : ''}`
    let entry: KeyEntry
    try { entry = checkEntry(e) } catch (err) { throw new KeyFileError(`${label}: ${(err as Error).message}`) }
    if (ids.has(entry.id)) throw new KeyFileError(`${label}: "id" is used by an earlier key`)
    if (hashes.has(entry.hash)) throw new KeyFileError(`${label}: "hash" is the same as an earlier key's`)
    ids.add(entry.id)
    hashes.add(entry.hash)
    return entry
  })
}

/** GATEWAY_API_KEYS: raw keys with every scope and every bot and workflow. */
export function quickKeys (list: string): KeyEntry[] {
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((raw, i) => ({
    id: `env-${i + 1}`,
    name: `GATEWAY_API_KEYS #${i + 1}`,
    hash: hashKey(raw),
    scopes: [...SCOPES],
    bots: ['*'],
    workflows: ['*']
  }))
}

/** The configured keys. Empty: the gateway is open (no key needed). */
export class KeyRing {
  readonly keys: readonly ApiKey[]

  constructor (entries: KeyEntry[]) {
    this.keys = entries.map(compileKey)
    const ids = new Set<string>()
    for (const k of this.keys) {
      if (ids.has(k.id)) throw new KeyFileError(`the key id "${k.id}" is used twice (GATEWAY_KEYS_FILE and GATEWAY_API_KEYS)`)
      ids.add(k.id)
    }
  }

  get enabled (): boolean { return this.keys.length > 0 }
  get size (): number { return this.keys.length }

  /** The key whose hash matches; every stored hash is compared (no early exit), in constant time. */
  find (raw: string): ApiKey | undefined {
    const presented = createHash('sha256').update(raw, 'utf8').digest()
    let found: ApiKey | undefined
    for (const k of this.keys) {
      const match = timingSafeEqual(presented, k.hash)
      if (match && !found) found = k
    }
    return found
  }

  /** Reads GATEWAY_KEYS_FILE and GATEWAY_API_KEYS. Throws KeyFileError (one line) on any mistake. */
  static load (file: string, quick: string): KeyRing {
    let entries: KeyEntry[] = []
    if (file) {
      let text: string
      try { text = readFileSync(file, 'utf8') } catch (err) {
        throw new KeyFileError(`GATEWAY_KEYS_FILE ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
      }
      try { entries = parseKeysFile(text) } catch (err) { throw new KeyFileError(`GATEWAY_KEYS_FILE ${file}: ${(err as Error).message}`) }
    }
    return new KeyRing([...entries, ...quickKeys(quick)])
  }
}
