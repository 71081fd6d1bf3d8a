// The keys file and GATEWAY_API_KEYS: mistakes stop the start with one line naming the
// entry and the field; `npm run keys` makes a key that the gateway then accepts.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { hashKey, KeyRing } from '../../src/access/keys.js'
import { startStack, userMsg } from '../helpers/stack.js'

const dir = mkdtempSync(join(tmpdir(), 'gw-keys-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const HASH = 'a'.repeat(64)
const good = { id: 'web', name: 'website', hash: HASH, scopes: ['chat' as const] }

function startError (content: string): string {
  const path = join(dir, `k-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(path, content)
  try {
    loadConfig({ GATEWAY_KEYS_FILE: path })
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('the keys file was accepted')
}

describe('the keys file', () => {
  it.each([
    ['not JSON', '{"keys": [', /not valid JSON/],
    ['no keys list', '{"key": []}', /must be a JSON object \{"keys": \[ \.\.\. \]\}/],
    ['an unknown field', JSON.stringify({ keys: [good, { ...good, id: 'b', hash: 'b'.repeat(64), scope: ['chat'] }] }), /keys\[1\] \(id "b"\): unknown field "scope"/],
    ['a bad hash', JSON.stringify({ keys: [{ ...good, hash: 'ABC' }] }), /keys\[0\] \(id "web"\): "hash" must be the SHA-256/],
    ['an unknown scope', JSON.stringify({ keys: [{ ...good, scopes: ['chat', 'admin'] }] }), /keys\[0\] \(id "web"\): "scopes"\[1\] "admin" is not a scope/],
    ['a bad rpm', JSON.stringify({ keys: [{ ...good, rpm: 0 }] }), /"rpm" must be a whole number/],
    ['a bad expires_at', JSON.stringify({ keys: [{ ...good, expires_at: 'tomorrow' }] }), /"expires_at" must be an ISO 8601/],
    ['an origin with a path', JSON.stringify({ keys: [{ ...good, origins: ['https://a.example/page'] }] }), /"origins"\[0\] .* must be an origin/],
    ['a duplicate id', JSON.stringify({ keys: [good, { ...good, hash: 'b'.repeat(64) }] }), /keys\[1\] \(id "web"\): "id" is used by an earlier key/],
    ['bots not a list', JSON.stringify({ keys: [{ ...good, bots: '*' }] }), /"bots" must be a list/]
  ])('%s: one line that names the entry and the field', (_what, content, why) => {
    const message = startError(content)
    expect(message).toMatch(why)
    expect(message).toMatch(/GATEWAY_KEYS_FILE/)
    expect(message.split('\n')).toHaveLength(1)
  })

  it('a missing file is a start error too', () => {
    expect(() => loadConfig({ GATEWAY_KEYS_FILE: join(dir, 'nope.json') })).toThrow(/GATEWAY_KEYS_FILE .*nope\.json: cannot be read \(ENOENT\)/)
  })

  it('GATEWAY_API_KEYS: raw keys with every scope, every bot and workflow', () => {
    const { keys } = loadConfig({ GATEWAY_API_KEYS: ' one-key , another-key ' }).access
    expect(keys.size).toBe(2)
    const k = keys.find('another-key')!
    expect(k.id).toBe('env-2')
    expect([...k.scopes]).toEqual(['chat', 'sessions', 'files', 'workflows', 'openai', 'account', 'vend'])
    expect(k.bots.all && k.workflows.all).toBe(true)
    expect(keys.find('another-keyx')).toBeUndefined()
    expect(keys.find('')).toBeUndefined()
  })

  it('a key is looked up by its SHA-256; the stored entry never holds the key', () => {
    const ring = new KeyRing([{ ...good, hash: hashKey('s3cret') }])
    expect(ring.find('s3cret')?.id).toBe('web')
    expect(ring.find('s3cret ')).toBeUndefined()
    expect(JSON.stringify(ring.keys)).not.toContain('s3cret')
  })
})

// Each run is a real `npm run keys` (npm + tsx start-up): seconds each on a loaded machine.
describe('npm run keys', { timeout: 120_000 }, () => {
  const run = (args: string[], input?: string) => {
    const r = spawnSync('npm', ['run', '-s', 'keys', '--', ...args], { encoding: 'utf8', input, timeout: 60_000, env: { ...process.env, GATEWAY_KEYS_FILE: '' } })
    return { code: r.status, stdout: r.stdout, stderr: r.stderr }
  }

  it('create prints a new key once and the entry to paste; the gateway accepts the key with that entry', async () => {
    const r = run(['create', '--name', 'web', '--scopes', 'chat,sessions', '--bots', '7537334510896185359', '--rpm', '30'])
    expect(r.code, r.stderr).toBe(0)
    const key = r.stdout.split('\n')[0]!
    expect(key).toMatch(/^cgw_[A-Za-z0-9_-]{43}$/)
    const entry = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')))
    expect(entry).toMatchObject({ name: 'web', hash: hashKey(key), scopes: ['chat', 'sessions'], bots: ['7537334510896185359'], rpm: 30 })
    expect(entry.id).toMatch(/^web-[0-9a-f]{6}$/)
    expect(r.stderr).toMatch(/shown only this once/)

    const path = join(dir, 'made.json')
    writeFileSync(path, JSON.stringify({ keys: [entry] }))
    const s = await startStack({ GATEWAY_KEYS_FILE: path })
    try {
      const chat = (headers: Record<string, string>) => s.app.inject({ method: 'POST', url: '/api/v1/chat', headers, payload: { user_id: 'u', messages: [userMsg('hi')] } })
      expect((await chat({ authorization: `Bearer ${key}` })).statusCode).toBe(200)
      expect((await chat({})).statusCode).toBe(401)
    } finally { await s.close() }
  })

  it('create refuses a wrong field; hash hashes a key (argument or stdin); check validates a file', () => {
    const bad = run(['create', '--name', 'x', '--scopes', 'chat,everything'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/"scopes"\[1\] "everything" is not a scope/)
    expect(bad.stdout).toBe('')
    expect(run(['hash', 'abc']).stdout).toBe(`${hashKey('abc')}\n`)
    expect(run(['hash'], 'abc\n').stdout).toBe(`${hashKey('abc')}\n`)
    const file = join(dir, 'appended.json')
    expect(run(['create', '--name', 'one', '--scopes', 'openai', '--file', file]).code).toBe(0)
    expect(run(['create', '--name', 'two', '--scopes', 'chat', '--file', file]).code).toBe(0)
    const checked = run(['check', file])
    expect(checked.code).toBe(0)
    expect(checked.stdout).toMatch(/2 keys, all valid/)
  })
})
