// The Coze credentials the gateway runs with, read once at start from the environment:
// personal access tokens (COZE_API_TOKEN, COZE_API_TOKENS) or OAuth JWT apps (the console's
// JSON files in COZE_OAUTH_CONFIG_FILE, or COZE_OAUTH_APP_ID + key). Every mistake is a
// start error that says what to fix, never the secret itself.
import { readFileSync } from 'node:fs'
import { createPrivateKey } from 'node:crypto'

/** A personal access token, or an OAuth JWT app ("service app"). `source` names where it was configured, never its value. */
export type CredentialSpec = PatSpec | OAuthAppSpec

export interface PatSpec { kind: 'pat', token: string, source: string }

export interface OAuthAppSpec {
  kind: 'oauth'
  appId: string
  keyId: string
  /** PEM (PKCS#8 or PKCS#1 RSA) */
  privateKey: string
  /** coze_api_base of the console file: where the app was made (cn or com) */
  apiBase?: string | undefined
  source: string
}

export interface CredentialEnv {
  COZE_API_TOKEN: string
  COZE_API_TOKENS: string
  COZE_OAUTH_CONFIG_FILE: string
  COZE_OAUTH_APP_ID: string
  COZE_OAUTH_KEY_ID: string
  COZE_OAUTH_PRIVATE_KEY: string
  COZE_OAUTH_PRIVATE_KEY_FILE: string
}

/** A configuration mistake about credentials; config.ts turns it into a ConfigError. */
export class CredentialConfigError extends Error {}

const list = (s: string) => s.split(',').map((t) => t.trim()).filter(Boolean)

export function parseCredentials (env: CredentialEnv): CredentialSpec[] {
  const pats = patsOf(env)
  const byVars = Boolean(env.COZE_OAUTH_APP_ID || env.COZE_OAUTH_KEY_ID || env.COZE_OAUTH_PRIVATE_KEY || env.COZE_OAUTH_PRIVATE_KEY_FILE)
  const files = list(env.COZE_OAUTH_CONFIG_FILE)
  if (pats.length > 0 && (byVars || files.length > 0)) {
    throw new CredentialConfigError('COZE_API_TOKEN/COZE_API_TOKENS and an OAuth app (COZE_OAUTH_CONFIG_FILE or COZE_OAUTH_APP_ID) are both set: ' +
      'configure personal access tokens or OAuth JWT apps, not both (unset one of them)')
  }
  if (pats.length > 0) return pats
  const apps = [...(byVars ? [appFromVars(env)] : []), ...files.map(appFromFile)]
  const ids = new Set<string>()
  for (const a of apps) {
    if (ids.has(a.appId)) throw new CredentialConfigError(`the OAuth app ${a.appId} is configured twice (${a.source}): list each app once`)
    ids.add(a.appId)
  }
  return apps
}

function patsOf (env: CredentialEnv): PatSpec[] {
  const out: PatSpec[] = []
  const seen = new Set<string>()
  const add = (token: string, source: string) => {
    if (seen.has(token)) return
    seen.add(token)
    out.push({ kind: 'pat', token, source })
  }
  if (env.COZE_API_TOKEN.trim()) add(env.COZE_API_TOKEN.trim(), 'COZE_API_TOKEN')
  list(env.COZE_API_TOKENS).forEach((t, i) => add(t, `COZE_API_TOKENS item ${i + 1}`))
  return out
}

function appFromVars (env: CredentialEnv): OAuthAppSpec {
  const missing = ['COZE_OAUTH_APP_ID', 'COZE_OAUTH_KEY_ID'].filter((k) => !env[k as keyof CredentialEnv].trim())
  if (!env.COZE_OAUTH_PRIVATE_KEY && !env.COZE_OAUTH_PRIVATE_KEY_FILE) missing.push('COZE_OAUTH_PRIVATE_KEY (or COZE_OAUTH_PRIVATE_KEY_FILE)')
  if (missing.length > 0) throw new CredentialConfigError(`an OAuth JWT app also needs ${missing.join(', ')} (or use COZE_OAUTH_CONFIG_FILE, the JSON file the Coze console downloads)`)
  if (env.COZE_OAUTH_PRIVATE_KEY && env.COZE_OAUTH_PRIVATE_KEY_FILE) {
    throw new CredentialConfigError('COZE_OAUTH_PRIVATE_KEY and COZE_OAUTH_PRIVATE_KEY_FILE are both set: set only one of them')
  }
  const source = 'COZE_OAUTH_APP_ID'
  const pem = env.COZE_OAUTH_PRIVATE_KEY
    // A PEM in one env line usually carries its line breaks as \n.
    ? env.COZE_OAUTH_PRIVATE_KEY.replace(/\\n/g, '\n')
    : readText(env.COZE_OAUTH_PRIVATE_KEY_FILE, 'COZE_OAUTH_PRIVATE_KEY_FILE')
  return { kind: 'oauth', appId: env.COZE_OAUTH_APP_ID.trim(), keyId: env.COZE_OAUTH_KEY_ID.trim(), privateKey: checkedKey(pem, env.COZE_OAUTH_PRIVATE_KEY ? 'COZE_OAUTH_PRIVATE_KEY' : 'COZE_OAUTH_PRIVATE_KEY_FILE'), source }
}

/** The console's JSON for a service app: client_type, client_id, coze_www_base, coze_api_base, private_key, public_key_id. */
function appFromFile (path: string): OAuthAppSpec {
  const where = `COZE_OAUTH_CONFIG_FILE ${path}`
  let v: unknown
  try { v = JSON.parse(readText(path, 'COZE_OAUTH_CONFIG_FILE')) } catch (err) {
    if (err instanceof CredentialConfigError) throw err
    throw new CredentialConfigError(`${where} is not valid JSON: use the file the Coze console downloads for the OAuth app`)
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new CredentialConfigError(`${where} is not a JSON object`)
  const f = v as Record<string, unknown>
  const str = (k: string) => (typeof f[k] === 'string' && (f[k] as string).trim() ? (f[k] as string).trim() : undefined)
  const missing = ['client_id', 'public_key_id', 'private_key'].filter((k) => !str(k))
  if (missing.length > 0) throw new CredentialConfigError(`${where} has no ${missing.join(', ')}: use the file the Coze console downloads for an OAuth JWT (service) app`)
  const type = str('client_type')
  if (type && type !== 'jwt') {
    throw new CredentialConfigError(`${where} is for a "${type}" OAuth app: the gateway signs JWTs, so it needs a JWT (service) app, client_type "jwt"`)
  }
  const apiBase = str('coze_api_base')?.replace(/\/+$/, '')
  return { kind: 'oauth', appId: str('client_id')!, keyId: str('public_key_id')!, privateKey: checkedKey(str('private_key')!, `private_key of ${where}`), apiBase, source: where }
}

function readText (path: string, variable: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new CredentialConfigError(`${variable}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

/** An RSA private key in PEM, as getJWTToken needs it. The error never quotes the key. */
function checkedKey (pem: string, what: string): string {
  const key = pem.trim()
  if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(key)) throw new CredentialConfigError(`${what} is not a PEM private key (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)`)
  try {
    if (createPrivateKey(key).asymmetricKeyType !== 'rsa') throw new CredentialConfigError(`${what} is not an RSA key: Coze JWTs are signed with RS256`)
  } catch (err) {
    if (err instanceof CredentialConfigError) throw err
    throw new CredentialConfigError(`${what} cannot be read as a private key (is the PEM complete?)`)
  }
  return `${key}\n`
}

/**
 * The credentials of a Config: those loadConfig read, except that COZE_API_TOKEN follows the
 * config's own value (a demo or a test may set it after loading).
 */
export function credentialsOf (config: { COZE_API_TOKEN: string, credentials?: readonly CredentialSpec[] | undefined }): CredentialSpec[] {
  const specs = (config.credentials ?? []).filter((s) => s.source !== 'COZE_API_TOKEN')
  const token = config.COZE_API_TOKEN.trim()
  if (token && specs.every((s) => s.kind === 'pat' && s.token !== token)) specs.unshift({ kind: 'pat', token, source: 'COZE_API_TOKEN' })
  return specs
}
