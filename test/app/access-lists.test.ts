// Allow-lists with and without keys (ALLOWED_BOT_IDS, ALLOWED_WORKFLOW_IDS, COZE_MODEL_MAP
// on /v1, a key's workflows), ACCOUNT_ROUTES=false, and the daily token budget counted
// from the usage the emulator reports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, DEFAULT_BOT, userMsg, type Stack } from '../helpers/stack.js'
import { bearer, writeKeysFile, type KeysFile } from '../helpers/keys.js'

describe('allow-lists without keys: 403 before Coze on every surface', () => {
  let s: Stack
  beforeAll(async () => {
    s = await startStack({ ALLOWED_BOT_IDS: 'bot-echo, bot-tool', ALLOWED_WORKFLOW_IDS: 'wf-echo', COZE_MODEL_MAP: '{"gpt-4o":"bot-reasoning"}' })
  })
  afterAll(async () => { await s.close() })

  it('a bot outside ALLOWED_BOT_IDS (the default bot included) is 403 on /api/v1, /chat, /v1 and session/conversation creation', async () => {
    const before = s.emu.requests.length
    const cases = [
      ['/api/v1/chat', { user_id: 'u', messages: [userMsg('hi')] }],
      ['/api/v1/chat', { user_id: 'u', bot_id: 'bot-reasoning', messages: [userMsg('hi')] }],
      ['/chat', { message: 'hi' }],
      ['/v1/chat/completions', { model: DEFAULT_BOT, messages: [userMsg('hi')] }],
      ['/api/v1/sessions', { user_id: 'u' }],
      ['/api/v1/conversations', { user_id: 'u', bot_id: 'bot-reasoning' }]
    ] as const
    for (const [url, payload] of cases) {
      const r = await s.app.inject({ method: 'POST', url, payload })
      expect(r.statusCode, url).toBe(403)
      expect(r.body).toMatch(/is not allowed: it is not in the gateway's ALLOWED_BOT_IDS/)
    }
    expect(s.emu.requests.length).toBe(before)
    expect((await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', bot_id: 'bot-echo', messages: [userMsg('hi')] } })).statusCode).toBe(200)
  })

  it('on /v1, COZE_MODEL_MAP\'s bots count as listed; /v1/models lists only what may be used', async () => {
    const alias = await s.app.inject({ method: 'POST', url: '/v1/chat/completions', payload: { model: 'gpt-4o', messages: [userMsg('hi')] } })
    expect(alias.statusCode).toBe(200)
    const models = (await s.app.inject('/v1/models')).json().data.map((m: { id: string }) => m.id)
    expect(models).toEqual(['gpt-4o'])
    expect((await s.app.inject(`/v1/models/${DEFAULT_BOT}`)).statusCode).toBe(403)
  })

  it('a workflow outside ALLOWED_WORKFLOW_IDS is 403 on run, execute, resume and run state', async () => {
    const before = s.emu.requests.length
    for (const [method, url, payload] of [
      ['POST', '/api/v1/workflows/wf-text/run', { parameters: {} }],
      ['POST', '/api/v1/workflows/wf-text/run', { parameters: {}, stream: true }],
      ['POST', '/api/v1/workflows/wf-text/execute', { inputs: {} }],
      ['POST', '/api/v1/workflows/wf-interrupt/resume', { event_id: 'x', resume_data: 'y', interrupt_type: 2 }],
      ['GET', '/api/v1/workflows/wf-text/runs/123']
    ] as const) {
      const r = await s.app.inject({ method, url, ...(payload ? { payload } : {}) })
      expect(r.statusCode, url).toBe(403)
      expect(r.json()).toMatchObject({ success: false, code: 'FORBIDDEN', message: 'The workflow ' + url.split('/')[4] + ' is not allowed: it is not in the gateway\'s ALLOWED_WORKFLOW_IDS.' })
    }
    expect(s.emu.requests.length).toBe(before)
    expect((await s.app.inject({ method: 'POST', url: '/api/v1/workflows/wf-echo/run', payload: { parameters: { input: 'x' } } })).statusCode).toBe(200)
  })
})

describe('ACCOUNT_ROUTES=false', () => {
  it('turns off user info, workspaces, bots and the connection test (404); config says so', async () => {
    const s = await startStack({ ACCOUNT_ROUTES: 'false' })
    try {
      for (const url of ['/api/v1/user/info', '/api/v1/workspaces', '/api/v1/bots?workspace_id=1', `/api/v1/bots/${DEFAULT_BOT}`, '/api/v1/test/connection']) {
        expect((await s.app.inject(url)).statusCode, url).toBe(404)
      }
      const config = (await s.app.inject('/api/v1/config')).json().data
      expect(config.auth).toMatchObject({ mode: 'none', keys: 0, account_routes: false })
      expect(config.features).toMatchObject({ user_management: false, workspace_management: false, bots: false })
    } finally { await s.close() }
  })
})

describe('a key\'s workflows and its daily token budget', () => {
  const KEY = 'cgw_budget_key_bbbbbbbbbbbbbbbbbbbbbbbbbbbb'
  const BUDGET = 100
  let s: Stack
  let file: KeysFile
  beforeAll(async () => {
    file = writeKeysFile([{ id: 'metered', raw: KEY, scopes: ['chat', 'workflows'], bots: ['*'], workflows: ['wf-echo'], daily_tokens: BUDGET }])
    s = await startStack({ GATEWAY_KEYS_FILE: file.path })
  })
  afterAll(async () => { await s.close(); file.close() })

  it('a workflow outside the key\'s list is 403', async () => {
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/workflows/wf-text/run', payload: { parameters: {} }, headers: bearer(KEY) })
    expect(r.statusCode).toBe(403)
    expect(r.json().message).toBe('The workflow wf-text is not allowed: it is not in the workflows of the API key "metered".')
  })

  it('runs out exactly when the token_count Coze reported for the key\'s chats reaches daily_tokens', async () => {
    let used = 0
    let chats = 0
    for (;;) {
      const r = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', messages: [userMsg(`question number ${chats} with a few more words`)] }, headers: bearer(KEY) })
      if (r.statusCode !== 200) {
        expect(r.statusCode).toBe(429)
        expect(r.json()).toMatchObject({ code: 'QUOTA_EXCEEDED' })
        expect(Number(r.headers['retry-after'])).toBeGreaterThan(0)
        break
      }
      const usage = r.json().data.usage as { token_count: number }
      expect(usage.token_count).toBeGreaterThan(0)
      // refused only once the budget was used up, never before
      expect(used).toBeLessThan(BUDGET)
      used += usage.token_count
      chats++
      expect(chats).toBeLessThan(50)
    }
    expect(used).toBeGreaterThanOrEqual(BUDGET)
    expect(chats).toBeGreaterThan(1)
    // the stream route and workflows are refused too
    expect((await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', stream: true, messages: [userMsg('x')] }, headers: bearer(KEY) })).statusCode).toBe(429)
    expect((await s.app.inject({ method: 'POST', url: '/api/v1/workflows/wf-echo/run', payload: { parameters: {} }, headers: bearer(KEY) })).statusCode).toBe(429)
  })
})
