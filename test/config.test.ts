// Configuration from the environment: typed values, defaults, and start-up errors that say what to fix.
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'

describe('loadConfig', () => {
  it('converts strings, fills the documented defaults and trims the base URL', () => {
    const c = loadConfig({ PORT: '3000', ENABLE_RATE_LIMIT: 'false', COZE_API_BASE: 'https://api.coze.com/' })
    expect(c.PORT).toBe(3000)
    expect(c.ENABLE_RATE_LIMIT).toBe(false)
    expect(c.COZE_API_BASE).toBe('https://api.coze.com')
    expect(loadConfig({})).toMatchObject({
      COZE_API_BASE: 'https://api.coze.cn', HOST: '0.0.0.0', PORT: 2026, ENABLE_RATE_LIMIT: true,
      RATE_LIMIT_REQUESTS: 100, RATE_LIMIT_WINDOW: 60, MAX_UPLOAD_MB: 10, CORS_ORIGINS: '*', upstreamMode: 'coze', COZE_TRANSPORT: 'undici'
    })
    expect(loadConfig({ COZE_TRANSPORT: 'sdk' }).COZE_TRANSPORT).toBe('sdk')
  })

  it('COZE_HTTP2: false by default, true or false when set', () => {
    expect(loadConfig({}).COZE_HTTP2).toBe(false)
    expect(loadConfig({ COZE_HTTP2: 'true' }).COZE_HTTP2).toBe(true)
    expect(loadConfig({ COZE_HTTP2: 'false' }).COZE_HTTP2).toBe(false)
  })

  it('refuses bad values with one line per variable, naming it, what is allowed and what it got', () => {
    let message = ''
    try { loadConfig({ PORT: 'abc', SESSION_STORE: 'mongo', RATE_LIMIT_REQUESTS: '0' }) } catch (e) {
      expect(e).toBeInstanceOf(ConfigError)
      message = (e as Error).message
    }
    expect(message).toContain('PORT: must be integer (got "abc")')
    expect(message).toContain('SESSION_STORE: must be one of sqlite, memory, redis (got "mongo")')
    expect(message).toContain('RATE_LIMIT_REQUESTS')
    expect(message.split('\n').filter((l) => l.includes('SESSION_STORE'))).toHaveLength(1)
  })
})

// Issue 18.6 and issue 11: configuration mistakes are caught at start, one line each.
describe('configuration mistakes', () => {
  const refusals: Array<[string, Record<string, string>, RegExp]> = [
    ['TRUST_PROXY=yes', { TRUST_PROXY: 'yes' }, /^Invalid configuration: TRUST_PROXY: .*yes.* Use false, true, a hop count \(1\), or comma-separated proxy addresses/],
    ['TRUST_PROXY=garbage', { TRUST_PROXY: 'garbage' }, /^Invalid configuration: TRUST_PROXY: .*\(got "garbage"\)$/],
    ['TRUST_PROXY=-1', { TRUST_PROXY: '-1' }, /^Invalid configuration: TRUST_PROXY: .*\(got "-1"\)$/],
    ['TRUST_PROXY=10.0.0.0/99', { TRUST_PROXY: '10.0.0.0/99' }, /^Invalid configuration: TRUST_PROXY: /],
    ['COZE_TRANSPORT=fetch', { COZE_TRANSPORT: 'fetch' }, /^Invalid configuration: COZE_TRANSPORT: must be one of undici, sdk \(got "fetch"\)$/],
    ['COZE_HTTP2=yes', { COZE_HTTP2: 'yes' }, /^Invalid configuration: COZE_HTTP2: must be boolean \(got "yes"\)$/],
    ['PORT=99999', { PORT: '99999' }, /^Invalid configuration: PORT: must be <= 65535 \(got "99999"\)$/],
    ['PORT=-1', { PORT: '-1' }, /^Invalid configuration: PORT: must be >= 0/],
    ['CORS_ORIGINS=""', { CORS_ORIGINS: '' }, /^Invalid configuration: CORS_ORIGINS: empty\. Set \* to allow any origin/],
    ['CORS_ORIGINS=" "', { CORS_ORIGINS: ' ' }, /^Invalid configuration: CORS_ORIGINS: empty/],
    ['CORS_ORIGINS without a scheme', { CORS_ORIGINS: 'app.example.com' }, /^Invalid configuration: CORS_ORIGINS: "app\.example\.com" is not an origin\. Write \* alone, or origins as scheme:\/\/host\[:port\]/],
    ['CORS_ORIGINS with a path', { CORS_ORIGINS: 'https://a.example.com,https://b.example.com/app' }, /"https:\/\/b\.example\.com\/app" is not an origin/],
    ['COZE_API_BASE without a scheme', { COZE_API_BASE: 'api.coze.cn' }, /^Invalid configuration: COZE_API_BASE: "api\.coze\.cn" has no scheme: write the whole URL, e\.g\. https:\/\/api\.coze\.cn/],
    ['COZE_API_BASE not http(s)', { COZE_API_BASE: 'ftp://api.coze.cn' }, /^Invalid configuration: COZE_API_BASE: "ftp:\/\/api\.coze\.cn" must be an http\(s\) URL/],
    ['COZE_BASE_URL (the alias) without a scheme', { COZE_BASE_URL: 'api.coze.cn' }, /^Invalid configuration: COZE_API_BASE: "api\.coze\.cn" has no scheme/],
    ['SERVER_PORT (the alias) out of range', { SERVER_PORT: '70000' }, /^Invalid configuration: PORT: must be <= 65535/]
  ]

  it.each(refusals)('%s → one line that names the variable and what is allowed', (_name, env, message) => {
    let error: unknown
    try { loadConfig(env) } catch (e) { error = e }
    expect(error).toBeInstanceOf(ConfigError)
    const text = (error as Error).message
    expect(text.split('\n')).toHaveLength(1)
    expect(text).toMatch(message)
  })

  it('several mistakes: one line each', () => {
    let text = ''
    try { loadConfig({ TRUST_PROXY: 'yes', CORS_ORIGINS: 'x', COZE_API_BASE: 'api.coze.cn' }) } catch (e) { text = (e as Error).message }
    expect(text.split('\n').map((l) => l.split(':')[1]!.trim())).toEqual(['COZE_API_BASE', 'TRUST_PROXY', 'CORS_ORIGINS'])
  })

  const accepted: Array<[string, Record<string, string>, Partial<Record<string, unknown>>, RegExp | undefined]> = [
    ['COZE_API_BASE=https://api.coze.cn/v3 (the chatbot doc\'s form)', { COZE_API_BASE: 'https://api.coze.cn/v3' }, { COZE_API_BASE: 'https://api.coze.cn' }, /COZE_API_BASE ends with \/v3.*using https:\/\/api\.coze\.cn/],
    ['COZE_API_BASE ending with /v1/', { COZE_API_BASE: 'https://api.coze.com/v1/' }, { COZE_API_BASE: 'https://api.coze.com' }, /ends with \/v1/],
    ['COZE_API_BASE ending with /open_api/v2', { COZE_API_BASE: 'https://api.coze.cn/open_api/v2' }, { COZE_API_BASE: 'https://api.coze.cn' }, /ends with \/open_api\/v2/],
    ['COZE_API_BASE behind a path prefix', { COZE_API_BASE: 'https://proxy.example.com/coze' }, { COZE_API_BASE: 'https://proxy.example.com/coze' }, undefined],
    ['COZE_BASE_URL, SERVER_HOST, SERVER_PORT, COZE_USER_ID (the chatbot doc\'s names)',
      { COZE_BASE_URL: 'https://api.coze.cn/v3', SERVER_HOST: '127.0.0.1', SERVER_PORT: '6001', COZE_USER_ID: 'default_user' },
      { COZE_API_BASE: 'https://api.coze.cn', HOST: '127.0.0.1', PORT: 6001, DEFAULT_USER_ID: 'default_user' }, /SERVER_PORT is read as PORT/],
    ['an alias next to our own name: ours wins, with a warning', { PORT: '2026', SERVER_PORT: '6001' }, { PORT: 2026 }, /SERVER_PORT is ignored: PORT is set too/],
    ['TRUST_PROXY=true', { TRUST_PROXY: 'true' }, {}, /TRUST_PROXY=true .*any client can choose its IP.*TRUST_PROXY=10\.0\.0\.5/],
    ['TRUST_PROXY=1 (a hop count)', { TRUST_PROXY: '1' }, {}, /TRUST_PROXY=1 trusts the 1 nearest hop/],
    ['TRUST_PROXY as addresses', { TRUST_PROXY: '10.0.0.5, 10.1.0.0/16, loopback' }, {}, undefined],
    ['CORS_ORIGINS as a list', { CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' }, {}, undefined]
  ]

  it.each(accepted)('%s is accepted', (_name, env, values, warning) => {
    const c = loadConfig(env)
    expect(c).toMatchObject(values)
    if (warning) expect(c.warnings.join('\n')).toMatch(warning)
    else expect(c.warnings).toEqual([])
  })
})
