// GET /playground: the page and its files, their CSP, and PLAYGROUND=false.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from '../helpers/stack.js'
import { PLAYGROUND_CSP, PLAYGROUND_DIR } from '../../src/routes/playground.js'

const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
  .flatMap((e) => e.isDirectory() ? files(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name])

describe('GET /playground', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ SESSION_STORE: 'memory' }) })
  afterAll(async () => { await s.close() })

  it('serves the page at /playground and /playground/ with a strict CSP', async () => {
    for (const url of ['/playground', '/playground/']) {
      const res = await s.app.inject(url)
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      expect(res.body).toContain('data-testid="composer"')
      const csp = String(res.headers['content-security-policy'])
      expect(csp).toContain("default-src 'self'")
      expect(csp).toContain("script-src 'self'")
      expect(csp).toContain("style-src 'self'")
      expect(csp).toContain("connect-src 'self'")
      expect(csp).toContain("frame-ancestors 'none'")
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/)
      expect(res.headers['x-content-type-options']).toBe('nosniff')
    }
  })

  it('serves every file of playground/ with its type, and the CSP on each', async () => {
    const all = files(PLAYGROUND_DIR)
    expect(all).toEqual(expect.arrayContaining(['index.html', 'app.css', 'js/main.js']))
    for (const f of all) {
      const res = await s.app.inject(`/playground/${f}`)
      expect(res.statusCode, f).toBe(200)
      expect(res.body).toBe(readFileSync(join(PLAYGROUND_DIR, f), 'utf8'))
      expect(res.headers['content-security-policy'], f).toContain("script-src 'self'")
      if (f.endsWith('.js')) expect(res.headers['content-type']).toMatch(/javascript/)
      if (f.endsWith('.css')) expect(res.headers['content-type']).toMatch(/^text\/css/)
    }
  })

  it('has no inline script, inline style or inline event handler, and names no other origin', () => {
    for (const f of files(PLAYGROUND_DIR).filter((n) => n.endsWith('.html'))) {
      const html = readFileSync(join(PLAYGROUND_DIR, f), 'utf8')
      for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc="\/playground\//)
      expect(html).not.toMatch(/<script\b[^>]*>[^<]+<\/script>/)
      expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i)
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//)
    }
    for (const f of files(PLAYGROUND_DIR).filter((n) => n.endsWith('.js'))) {
      const js = readFileSync(join(PLAYGROUND_DIR, f), 'utf8')
      expect(js, f).not.toMatch(/\beval\(|new Function\(|\.setAttribute\('style'|localStorage\.setItem\([^)]*api_key/)
      expect(js, f).not.toMatch(/fetch\(\s*['"`]https?:/)
    }
  })

  it('stays inside its folder: no parent paths, no dotfiles, 404 for what is not there', async () => {
    for (const url of ['/playground/../package.json', '/playground/%2e%2e/package.json', '/playground/..%2fpackage.json', '/playground/js/../../src/config.ts']) {
      const res = await s.app.inject(url)
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400)
      expect(res.body, url).not.toContain('coze-gateway')
      expect(res.body, url).not.toContain('EnvSchema')
    }
    const missing = await s.app.inject('/playground/nope.js')
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toMatchObject({ success: false, code: 'NOT_FOUND' })
  })

  it('is left out of the OpenAPI document', async () => {
    const doc = (await s.app.inject('/docs/json')).json()
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/playground'))).toEqual([])
  })
})

describe('the playground and the rate limit', () => {
  it('serves its files outside the limit (a page load is a dozen files), while the API stays limited', async () => {
    const s = await startStack({ SESSION_STORE: 'memory', ENABLE_RATE_LIMIT: 'true', RATE_LIMIT_REQUESTS: '3' })
    try {
      for (let i = 0; i < 6; i++) expect((await s.app.inject('/playground/js/main.js')).statusCode).toBe(200)
      const codes = []
      for (let i = 0; i < 4; i++) codes.push((await s.app.inject('/api/v1/config')).statusCode)
      expect(codes).toEqual([200, 200, 200, 429])
    } finally { await s.close() }
  })
})

describe('PLAYGROUND=false', () => {
  it('turns /playground and its files into 404s', async () => {
    const s = await startStack({ SESSION_STORE: 'memory', PLAYGROUND: 'false' })
    try {
      expect(s.config.PLAYGROUND).toBe(false)
      for (const url of ['/playground', '/playground/', '/playground/js/main.js']) {
        const res = await s.app.inject(url)
        expect(res.statusCode, url).toBe(404)
        expect(res.json()).toMatchObject({ success: false, code: 'NOT_FOUND' })
        // (helmet's gateway-wide policy may be there; the page's own is not)
        expect(res.headers['content-security-policy']).not.toBe(PLAYGROUND_CSP)
      }
      expect((await s.app.inject('/api/v1/config')).statusCode).toBe(200)
    } finally { await s.close() }
  })
})
