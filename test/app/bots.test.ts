import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startStack, DEFAULT_BOT, type Stack } from '../helpers/stack.js'

const WORKSPACE = '7500000000000000101'

describe('bots', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack() })
  afterAll(async () => { await s.close() })
  afterEach(() => { s.emu.faults.clear() })

  it('GET /api/v1/bots lists a workspace\'s bots with what a chat UI needs, paged', async () => {
    const res = await s.app.inject({ url: `/api/v1/bots?workspace_id=${WORKSPACE}&page_num=1&page_size=4` })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body.success).toBe(true)
    expect(body.data).toHaveLength(4)
    expect(body.pagination).toEqual({ page_num: 1, page_size: 4, total_count: 6, has_more: true })
    const echo = body.data.find((b: { bot_id: string }) => b.bot_id === DEFAULT_BOT)
    expect(echo).toMatchObject({
      bot_id: DEFAULT_BOT,
      name: 'Echo',
      description: expect.any(String),
      icon_url: expect.stringMatching(/^https:\/\//),
      prologue: 'Hi! I repeat what you say and tell you which turn this is.',
      suggested_questions: ['What did I say earlier?', 'Which turn is this?'],
      is_published: true
    })
    const list = s.emu.requests.findLast((r) => r.path === '/v1/bots')!
    expect(list.query).toMatchObject({ workspace_id: WORKSPACE, page_num: '1', page_size: '4' })

    const page2 = (await s.app.inject({ url: `/api/v1/bots?workspace_id=${WORKSPACE}&page_num=2&page_size=4` })).json()
    expect(page2.data).toHaveLength(2)
    expect(page2.pagination.has_more).toBe(false)
  })

  it('a bot whose details cannot be read still lists, with prologue null', async () => {
    s.emu.faults.inject({ kind: 'coze_error', code: 5000 }, { path: /^\/v1\/bots\/bot-tool$/ })
    const body = (await s.app.inject({ url: `/api/v1/bots?workspace_id=${WORKSPACE}&page_size=50` })).json()
    expect(body.data).toHaveLength(6)
    const tool = body.data.find((b: { bot_id: string }) => b.bot_id === 'bot-tool')
    expect(tool).toMatchObject({ name: 'Weather tool', prologue: null, suggested_questions: [], is_published: true })
  })

  it('the list needs a workspace_id and sane paging', async () => {
    const none = await s.app.inject({ url: '/api/v1/bots' })
    expect(none.statusCode).toBe(400)
    expect(none.json().message).toMatch(/workspace_id/)
    expect((await s.app.inject({ url: `/api/v1/bots?workspace_id=${WORKSPACE}&page_size=500` })).statusCode).toBe(400)
    expect((await s.app.inject({ url: '/api/v1/bots?workspace_id=1%26page_num%3D9' })).statusCode).toBe(400)
  })

  it('GET /api/v1/bots/{bot_id}: name, description, icon, prologue, suggested questions, published', async () => {
    const res = await s.app.inject({ url: '/api/v1/bots/bot-tool' })
    expect(res.statusCode).toBe(200)
    expect(res.json().data).toMatchObject({
      bot_id: 'bot-tool',
      name: 'Weather tool',
      description: expect.stringContaining('get_weather'),
      icon_url: expect.stringMatching(/^https:\/\//),
      prologue: 'Name a city and I will ask your tool for its weather.',
      suggested_questions: ['Paris'],
      is_published: true
    })
    expect(s.emu.requests.findLast((r) => r.path === '/v1/bots/bot-tool')!.query).toMatchObject({ is_published: 'true' })
  })

  it('an unknown bot → 404 that says what to check', async () => {
    const res = await s.app.inject({ url: '/api/v1/bots/no-such-bot' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ success: false, code: 'UPSTREAM_NOT_FOUND', coze_code: 4200 })
    expect(res.json().message).toMatch(/bot id/)
  })
})
