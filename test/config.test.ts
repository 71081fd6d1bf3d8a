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
      RATE_LIMIT_REQUESTS: 100, RATE_LIMIT_WINDOW: 60, MAX_UPLOAD_MB: 10, CORS_ORIGINS: '*', upstreamMode: 'coze'
    })
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
