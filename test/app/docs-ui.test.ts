// Swagger UI is loaded on the first request under /docs and answered through the
// gateway's own app (src/plugins/swagger.ts): what a browser and a cache see of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from '../helpers/stack.js'

describe('/docs (Swagger UI, loaded on first use)', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack() })
  afterAll(async () => { await s.close() })

  it('serves the page and its files with their cache validators: a revalidation is a 304', async () => {
    const page = await s.app.inject('/docs/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect(page.body).toContain('swagger-ui')
    const css = await s.app.inject('/docs/static/swagger-ui.css')
    expect(css.statusCode).toBe(200)
    expect(css.headers['content-type']).toMatch(/^text\/css/)
    expect(Number(css.headers['content-length'])).toBe(css.rawPayload.length)
    expect(css.headers.etag).toBeTruthy()
    const again = await s.app.inject({ url: '/docs/static/swagger-ui.css', headers: { 'if-none-match': String(css.headers.etag) } })
    expect(again.statusCode).toBe(304)
    expect(again.body).toBe('')
  })

  it('HEAD gives the headers without the body', async () => {
    const head = await s.app.inject({ method: 'HEAD', url: '/docs/static/swagger-ui-bundle.js' })
    expect(head.statusCode).toBe(200)
    expect(Number(head.headers['content-length'])).toBeGreaterThan(100_000)
    expect(head.body).toBe('')
  })

  it('a file that does not exist is the gateway\'s own 404 envelope', async () => {
    const res = await s.app.inject('/docs/static/no-such-file.js')
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ success: false, code: 'NOT_FOUND' })
  })

  it('answers carry the gateway\'s headers (security headers, request id)', async () => {
    const res = await s.app.inject('/docs/static/index.css')
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['content-security-policy']).toContain("default-src 'self'")
    expect(res.headers['x-request-id']).toBeTruthy()
  })

  it('/docs/yaml is the same document as /docs/json', async () => {
    const json = (await s.app.inject('/docs/json')).json()
    const yaml = await s.app.inject('/docs/yaml')
    expect(yaml.statusCode).toBe(200)
    expect(yaml.headers['content-type']).toMatch(/^application\/x-yaml/)
    expect(yaml.body).toContain(`title: ${json.info.title}`)
    expect(yaml.body).toContain('/api/v1/chat:')
  })
})
