import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type Stack } from '../helpers/stack.js'

describe('system endpoints', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack() })
  afterAll(async () => { await s.close() })

  it('GET /health answers healthy with version, timestamp and the upstream mode, without calling Coze inline', async () => {
    const before = s.emu.requests.length
    const res = await s.app.inject('/health')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.success).toBe(true)
    expect(body.status).toBe('healthy')
    expect(body.data.status).toBe('healthy')
    expect(typeof body.message).toBe('string')
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp)
    expect(body.version).toBe('1.0.0')
    expect(body.upstream.mode).toBe('emulator')
    // a burst of probes triggers at most one background check
    for (let i = 0; i < 20; i++) await s.app.inject('/health')
    await new Promise((r) => setTimeout(r, 50))
    expect(s.emu.requests.length - before).toBeLessThanOrEqual(1)
  })

  it('GET /health turns degraded once Coze is seen rejecting the token', async () => {
    s.emu.faults.inject({ kind: 'coze_error', code: 4100 }, { path: '/v1/users/me' })
    const r = await s.app.inject('/api/v1/test/connection')
    expect(r.statusCode).toBe(502)
    const res = await s.app.inject('/health')
    expect(res.statusCode).toBe(200)
    expect(res.json().status).toBe('degraded')
    expect(res.json().upstream.state).toBe('down')
    s.emu.faults.clear()
    const ok = await s.app.inject('/api/v1/test/connection')
    expect(ok.statusCode).toBe(200)
    expect((await s.app.inject('/health')).json().status).toBe('healthy')
  })

  it('GET / says running and where the docs are', async () => {
    const body = (await s.app.inject('/')).json()
    expect(body).toMatchObject({ success: true, status: 'running', version: '1.0.0', docs: '/docs' })
    expect(body.data.status).toBe('running')
  })

  it('GET /api/v1/config shows the settings but never the token', async () => {
    const res = await s.app.inject('/api/v1/config')
    expect(res.statusCode).toBe(200)
    const { data } = res.json()
    expect(data).toMatchObject({
      api_base: s.emu.url,
      default_bot_id: '7537334510896185359',
      default_user_id: null,
      version: '1.0.0',
      upstream_mode: 'emulator',
      coze_transport: process.env.COZE_TRANSPORT ?? 'undici',
      coze_http2: false,
      token: { configured: true },
      rate_limit: { enabled: false, requests: 100, window_seconds: 60 }
    })
    expect(data.features.chat).toBe(true)
    expect(res.body).not.toContain(s.emu.token)
  })

  it('GET /api/v1/user/info gives the account as structured fields with the logid', async () => {
    const res = await s.app.inject('/api/v1/user/info')
    expect(res.statusCode).toBe(200)
    const { data } = res.json()
    expect(typeof data.user_id).toBe('string')
    expect(typeof data.user_name).toBe('string')
    expect(typeof data.nick_name).toBe('string')
    expect(typeof data.avatar_url).toBe('string')
    expect(data.logid).toMatch(/^\d{14}[0-9A-F]+$/)
    expect(res.headers['x-coze-logid']).toBe(data.logid)
  })

  it('GET /api/v1/workspaces lists workspaces with paging', async () => {
    const res = await s.app.inject('/api/v1/workspaces?page_num=1&page_size=5')
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(Array.isArray(body.data)).toBe(true)
    expect(body.data.length).toBeGreaterThan(0)
    expect(Object.keys(body.data[0]).sort()).toEqual(['icon_url', 'id', 'name', 'role_type', 'workspace_type'])
    expect(body.pagination).toMatchObject({ page_num: 1, page_size: 5 })
    const bad = await s.app.inject('/api/v1/workspaces?page_size=500')
    expect(bad.statusCode).toBe(400)
    expect(bad.json().message).toContain('page_size')
  })

  it('GET /api/v1/test/connection reports latency and the user', async () => {
    const res = await s.app.inject('/api/v1/test/connection')
    expect(res.statusCode).toBe(200)
    const { data } = res.json()
    expect(data.connected).toBe(true)
    expect(typeof data.user_id).toBe('string')
    expect(data.latency_ms).toBeGreaterThanOrEqual(0)
  })

  it('GET /api/v1/test/connection says why it failed, with the right status', async () => {
    s.emu.faults.inject({ kind: 'coze_error', code: 4101 }, { path: '/v1/users/me', times: 1 })
    const res = await s.app.inject('/api/v1/test/connection')
    expect(res.statusCode).toBe(502)
    const body = res.json()
    expect(body.success).toBe(false)
    expect(body.data.connected).toBe(false)
    expect(body.message).toMatch(/COZE_API_TOKEN/)
    expect(body.logid).toBeTruthy()
  })

  it('serves the OpenAPI document and Swagger UI', async () => {
    const spec = (await s.app.inject('/docs/json')).json()
    expect(spec.openapi).toMatch(/^3\./)
    for (const p of ['/health', '/', '/api/v1/chat', '/api/v1/upload', '/api/v1/user/info', '/api/v1/workspaces', '/api/v1/config', '/api/v1/test/connection']) {
      expect(spec.paths[p], p).toBeDefined()
    }
    expect(spec.paths['/api/v1/chat'].post.tags).toContain('chat')
    expect(JSON.stringify(spec)).toContain('message_delta')
    const ui = await s.app.inject('/docs')
    expect([200, 302]).toContain(ui.statusCode)
  })
})
