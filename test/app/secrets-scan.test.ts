// No secret ever leaves the gateway: no private key, PAT, signed JWT or minted token in any
// log line (at trace level) or any answer, on success and on every kind of failure. The one
// exception is a vended token, in its own answer.
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { vendToken } from '../../src/coze/vend.js'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'

const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
const APP_ID = '1150000000099'
const KEY_ID = 'kid_scan'
const keyFile = join(tmpdir(), `coze-scan-key-${randomBytes(6).toString('hex')}.pem`)
afterAll(() => rmSync(keyFile, { force: true }))

/** The requests every stack goes through: each surface, on success and on failure. */
async function exercise (s: Stack): Promise<LightMyRequestResponse[]> {
  const inject = (o: string | { method: 'POST', url: string, payload: object, headers?: Record<string, string> }) => s.app.inject(o)
  const chat = (body: Record<string, unknown> = {}) => inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'alice', messages: [userMsg('hi')], ...body } })
  const out: LightMyRequestResponse[] = []
  const round = async () => {
    out.push(await inject('/api/v1/config'), await inject('/health'), await inject('/api/v1/user/info'), await inject('/api/v1/test/connection'))
    out.push(await chat(), await chat({ stream: true }), await chat({ session_id: `scan-${randomBytes(3).toString('hex')}` }))
    const conv = (await chat()).json().data?.conversation_id
    if (conv) out.push(await inject(`/api/v1/conversations/${conv}/messages?user_id=alice`), await chat({ conversation_id: conv }))
    out.push(await inject({ method: 'POST', url: '/api/v1/conversations', payload: { user_id: 'alice' } }))
    out.push(await inject({ method: 'POST', url: '/api/v1/workflows/wf-echo/run', payload: { parameters: { input: 'x' }, stream: true } }))
    out.push(await inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: 'bot-echo', messages: [userMsg('hi')] }, headers: { authorization: 'Bearer client-key' } }))
    out.push(await inject({ method: 'POST', url: '/chat', payload: { message: 'hello' } }))
    out.push(await inject({ method: 'POST', url: '/api/v1/auth/token', payload: { bot_ids: ['bot-echo'], user_id: 'alice' } }))
  }
  await round()
  for (const fault of [
    { kind: 'coze_error', code: 4100 }, { kind: 'coze_error', code: 4101 }, { kind: 'coze_error', code: 4013 },
    { kind: 'http_status', status: 401 }, { kind: 'http_status', status: 429, retryAfter: 1 }, { kind: 'reset' }
  ] as const) {
    s.emu.faults.inject(fault)
    await round()
    s.emu.faults.clear()
  }
  return out
}

function scan (s: Stack, responses: LightMyRequestResponse[], secrets: string[]): void {
  expect(secrets.every((x) => x.length >= 16)).toBe(true)
  expect(responses.length).toBeGreaterThan(50)
  expect(s.logs.length).toBeGreaterThan(50)
  const texts = [...responses.map((r) => r.body + JSON.stringify(r.headers)), ...s.logs]
  for (const secret of secrets) {
    const hit = texts.find((t) => t.includes(secret))
    expect(hit, `a secret (${secret.slice(0, 6)}…) leaked`).toBeUndefined()
  }
}

/** The PEM and each of its base64 lines: a key cut into a log line is still a leak. */
const pemParts = (pem: string) => [pem.trim(), ...pem.split('\n').filter((l) => l.length >= 40)]

describe('the secret scan', () => {
  it('a pool of PATs: no PAT anywhere, whatever Coze answers', async () => {
    const pats = [`pat_SCAN_A_${randomBytes(16).toString('hex')}`, `pat_SCAN_B_${randomBytes(16).toString('hex')}`]
    const s = await startStack({ COZE_API_TOKENS: pats.join(','), LOG_LEVEL: 'trace', SESSION_STORE: 'memory', COZE_CREDENTIAL_RECHECK_MS: '100' }, { tokens: pats })
    try {
      const responses = await exercise(s)
      s.emu.tokens.delete(pats[0]!)
      responses.push(...await exercise(s))
      s.emu.tokens.add(pats[0]!)
      await new Promise((r) => setTimeout(r, 300)) // the background check runs and logs too
      scan(s, responses, pats)
    } finally { await s.close() }
  })

  it('an OAuth app with per-user tokens: no private key, JWT or minted token anywhere; a vended token only in its own answer', async () => {
    writeFileSync(keyFile, keys.privateKey)
    const s = await startStack({
      COZE_OAUTH_APP_ID: APP_ID, COZE_OAUTH_KEY_ID: KEY_ID, COZE_OAUTH_PRIVATE_KEY_FILE: keyFile,
      COZE_OAUTH_SESSION_ISOLATION: 'true', COZE_OAUTH_TOKEN_TTL: '2', LOG_LEVEL: 'trace', SESSION_STORE: 'memory'
    }, { oauthApps: [{ appId: APP_ID, keyId: KEY_ID, publicKey: keys.publicKey }], oauthTokenTtlSeconds: 1 })
    try {
      const responses = await exercise(s)
      // refreshes that fail (503 UPSTREAM_AUTH_UNAVAILABLE), then tokens Coze ends early (4100, minted anew)
      s.emu.faults.inject({ kind: 'coze_error', code: 4100 }, { path: '/api/permission/oauth2/token' })
      await new Promise((r) => setTimeout(r, 2100))
      responses.push(...await exercise(s))
      s.emu.faults.clear()
      await new Promise((r) => setTimeout(r, 1100))
      responses.push(...await exercise(s))
      expect(responses.some((r) => r.statusCode === 503 && r.body.includes('UPSTREAM_AUTH_UNAVAILABLE'))).toBe(true)

      const vended = await vendToken(s.app.coze.credentials, { bot_ids: ['bot-echo'], user_id: 'alice', ttl_seconds: 60 }, { maxTtlSeconds: 900 })
      expect(vended.access_token).toMatch(/^czs_/)
      responses.push(...await exercise(s))

      const minted = s.emu.oauth.issued.map((t) => t.access_token)
      const jwts = s.emu.requests.filter((r) => r.path === '/api/permission/oauth2/token').map((r) => String(r.headers.authorization).slice(7))
      expect(minted.length).toBeGreaterThan(3)
      expect(jwts.length).toBeGreaterThan(3)
      expect(minted).toContain(vended.access_token)
      scan(s, responses, [...pemParts(keys.privateKey), ...minted, ...jwts])
    } finally { await s.close() }
  })
})
