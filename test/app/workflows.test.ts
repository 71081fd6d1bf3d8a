import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseSse, startStack, type Stack } from '../helpers/stack.js'

const post = (s: Stack, url: string, payload: Record<string, unknown>) => s.app.inject({ method: 'POST', url, payload })
const run = (s: Stack, id: string, payload: Record<string, unknown>) => post(s, `/api/v1/workflows/${id}/run`, payload)
const frames = (body: string) => parseSse(body).filter((f) => f.type !== ':comment')

describe('workflows', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({}, { asyncWorkflowMs: 800 }) })
  afterAll(async () => { await s.close() })
  afterEach(() => { s.emu.faults.clear() })

  describe('POST /api/v1/workflows/{id}/run', () => {
    it('sync: output is Coze\'s JSON string parsed, with execute_id, debug_url and usage', async () => {
      const res = await run(s, 'wf-echo', { parameters: { input: 'Hello', n: 2 } })
      expect(res.statusCode).toBe(200)
      const body = res.json()
      expect(body.success).toBe(true)
      expect(body.data.output).toEqual({ output: { input: 'Hello', n: 2 } })
      expect(body.data.execute_id).toMatch(/^\d+$/)
      expect(body.data.debug_url).toContain(`execute_id=${body.data.execute_id}`)
      expect(body.data.usage.token_count).toBeGreaterThan(0)
      expect(res.headers['x-coze-logid']).toMatch(/^\d{14}/)
      const up = s.emu.requests.findLast((r) => r.path === '/v1/workflow/run')!
      expect(up.body).toMatchObject({ workflow_id: 'wf-echo', parameters: { input: 'Hello', n: 2 } })
    })

    it('parameters may also come as a JSON string, as the Coze docs show them', async () => {
      const res = await run(s, 'wf-echo', { parameters: '{"input":"as string"}' })
      expect(res.statusCode).toBe(200)
      expect(res.json().data.output).toEqual({ output: { input: 'as string' } })
    })

    it('sync: a non-JSON output is left as the string Coze sent', async () => {
      const res = await run(s, 'wf-text', { parameters: { a: 1 } })
      expect(res.statusCode).toBe(200)
      expect(res.json().data.output).toBe('Hello from wf-text. You sent {"a":1}')
    })

    it('is_async: execute_id, status running and debug_url; the run is then followed to success', async () => {
      const res = await run(s, 'wf-echo', { parameters: { q: 'async' }, is_async: true })
      expect(res.statusCode).toBe(200)
      const d = res.json().data
      expect(d).toMatchObject({ status: 'running', execute_id: expect.stringMatching(/^\d+$/), debug_url: expect.stringContaining('execute_id=') })

      const url = `/api/v1/workflows/wf-echo/runs/${d.execute_id}`
      const first = (await s.app.inject({ url })).json()
      expect(first.success).toBe(true)
      expect(first.data).toMatchObject({ execute_id: d.execute_id, workflow_id: 'wf-echo', status: 'running', output: null, error: null })

      await new Promise((r) => setTimeout(r, 900))
      const later = await s.app.inject({ url })
      expect(later.statusCode).toBe(200)
      expect(later.json().data).toMatchObject({ status: 'success', output: { output: { q: 'async' } }, error: null })
    })

    it('bot_id together with app_id → 400 before Coze is called', async () => {
      const before = s.emu.requests.length
      const res = await run(s, 'wf-echo', { parameters: {}, bot_id: 'b1', app_id: 'a1' })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ success: false, code: 'VALIDATION_ERROR' })
      expect(res.json().message).toMatch(/bot_id and app_id/)
      expect(s.emu.requests.length).toBe(before)
    })

    it('unknown or unpublished workflow (4200) → 404 that says what to check, sync and streaming', async () => {
      for (const payload of [{ parameters: {} }, { parameters: {}, stream: true }]) {
        const res = await run(s, 'no-such-workflow', payload)
        expect(res.statusCode).toBe(404)
        const b = res.json()
        expect(b).toMatchObject({ success: false, code: 'UPSTREAM_NOT_FOUND', coze_code: 4200 })
        expect(b.message).toMatch(/workflow id/)
        expect(b.message).toMatch(/published/)
        expect(b.logid).toMatch(/^\d{14}/)
      }
    })

    it('premium-only async run (6003) → 402 with a clear message', async () => {
      const res = await run(s, 'fault-6003', { parameters: {}, is_async: true })
      expect(res.statusCode).toBe(402)
      expect(res.json()).toMatchObject({ success: false, code: 'PREMIUM_REQUIRED', coze_code: 6003 })
      expect(res.json().message).toMatch(/is_async/)
    })

    it('rejects ids that are not Coze ids, and stream with is_async', async () => {
      expect((await run(s, 'wf-echo%26x%3D1', { parameters: {} })).statusCode).toBe(400)
      const both = await run(s, 'wf-echo', { parameters: {}, stream: true, is_async: true })
      expect(both.statusCode).toBe(400)
      expect(both.json().message).toMatch(/stream and is_async/)
      const bad = await run(s, 'wf-echo', { parameters: 'not an object' })
      expect(bad.statusCode).toBe(400)
      expect(bad.json().message).toMatch(/parameters/)
    })
  })

  describe('streaming', () => {
    it('stream: workflow_message frames, done with debug_url, then end; PING becomes a heartbeat', async () => {
      const res = await run(s, 'wf-echo', { parameters: { input: 'stream me' }, stream: true })
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/)
      const all = parseSse(res.body)
      expect(all.some((f) => f.type === ':comment')).toBe(true) // the PING
      const fs = frames(res.body)
      const types = fs.map((f) => f.type)
      expect(types.slice(-2)).toEqual(['done', 'end'])
      const msgs = fs.filter((f) => f.type === 'workflow_message')
      expect(msgs.length).toBeGreaterThanOrEqual(3)
      for (const m of msgs) {
        expect(m.node_title).toBe('End')
        expect(typeof m.content).toBe('string')
        expect(typeof m.node_is_finish).toBe('boolean')
      }
      expect(msgs.at(-1)!.node_is_finish).toBe(true)
      expect(JSON.parse(msgs.map((m) => m.content).join(''))).toEqual({ output: { input: 'stream me' } })
      expect(fs.at(-2)!.debug_url).toMatch(/^https:\/\/www\.coze\.cn\/work_flow\?execute_id=\d+/)
      expect(fs.at(-2)!.execute_id).toMatch(/^\d+$/)
      // the finished run can be looked up by that id
      const state = (await s.app.inject({ url: `/api/v1/workflows/wf-echo/runs/${String(fs.at(-2)!.execute_id)}` })).json()
      expect(state.data).toMatchObject({ status: 'success', output: { output: { input: 'stream me' } } })
    })

    it('the interrupting workflow: interrupt frame (event_id, type, data) then end; resume streams the rest', async () => {
      const res = await run(s, 'wf-interrupt', { parameters: {}, stream: true })
      expect(res.statusCode).toBe(200)
      const fs = frames(res.body)
      expect(fs.map((f) => f.type)).toEqual(['workflow_message', 'interrupt', 'end'])
      const it = fs[1]!
      expect(it).toMatchObject({ event_id: expect.stringMatching(/^\d+\/\d+$/), interrupt_type: 2, data: 'What is your name?', node_title: 'Question' })
      expect(it.interrupt_data).toEqual({ event_id: it.event_id, type: 2, data: 'What is your name?' })

      const resumed = await post(s, '/api/v1/workflows/wf-interrupt/resume', { event_id: it.event_id, resume_data: 'Alice', interrupt_type: it.interrupt_type })
      expect(resumed.statusCode).toBe(200)
      expect(resumed.headers['content-type']).toMatch(/^text\/event-stream/)
      const rs = frames(resumed.body)
      expect(rs.map((f) => f.type).slice(-2)).toEqual(['done', 'end'])
      const text = rs.filter((f) => f.type === 'workflow_message').map((f) => f.content).join('')
      expect(JSON.parse(text)).toEqual({ output: 'Alice' })
      expect(s.emu.requests.findLast((r) => r.path === '/v1/workflow/stream_resume')!.body)
        .toEqual({ workflow_id: 'wf-interrupt', event_id: it.event_id, resume_data: 'Alice', interrupt_type: 2 })

      // an interrupt resumes once
      const again = await post(s, '/api/v1/workflows/wf-interrupt/resume', { event_id: it.event_id, resume_data: 'Bob', interrupt_type: 2 })
      expect(again.statusCode).toBe(400)
      expect(again.json()).toMatchObject({ success: false, coze_code: 4000 })
    })

    it('resume validates its body', async () => {
      const res = await post(s, '/api/v1/workflows/wf-interrupt/resume', { event_id: 'x', resume_data: 'a' })
      expect(res.statusCode).toBe(400)
      expect(res.json().message).toMatch(/interrupt_type/)
    })

    it('a Coze Error event mid-stream becomes an error frame, then end', async () => {
      s.emu.faults.inject({ kind: 'stream_error', code: 5000, afterDeltas: 1 }, { path: '/v1/workflow/stream_run', times: 1 })
      const fs = frames((await run(s, 'wf-echo', { parameters: { a: 'b c d e' }, stream: true })).body)
      expect(fs.map((f) => f.type)).toEqual(['workflow_message', 'error', 'end'])
      expect(fs[1]).toMatchObject({ code: 'UPSTREAM_ERROR', coze_code: 5000, status: 502 })
    })

    it('a stream that ends without Done is reported as truncated, never as done', async () => {
      s.emu.faults.inject({ kind: 'truncate', afterDeltas: 2 }, { path: '/v1/workflow/stream_run', times: 1 })
      const fs = frames((await run(s, 'wf-echo', { parameters: { a: 'b c d e' }, stream: true })).body)
      expect(fs.map((f) => f.type)).toEqual(['workflow_message', 'workflow_message', 'error', 'end'])
      expect(fs[2]).toMatchObject({ code: 'UPSTREAM_TRUNCATED', status: 502 })
    })

    it('a failed run reads as failed, with its error', async () => {
      // The interrupt event carries the execute_id; the fault then fails that run.
      s.emu.faults.inject({ kind: 'stream_error', code: 5000, msg: 'node crashed' }, { path: '/v1/workflow/stream_run', times: 1 })
      const fs = frames((await run(s, 'wf-interrupt', { parameters: {}, stream: true })).body)
      const it = fs.find((f) => f.type === 'interrupt')!
      expect(fs.map((f) => f.type).slice(-2)).toEqual(['error', 'end'])
      const executeId = String(it.event_id).split('/')[0]
      const res = await s.app.inject({ url: `/api/v1/workflows/wf-interrupt/runs/${executeId}` })
      expect(res.statusCode).toBe(200)
      expect(res.json().data).toMatchObject({ status: 'failed', output: null, error: { code: 5000, message: 'node crashed' } })
    })
  })

  describe('GET /api/v1/workflows/{id}/runs/{execute_id}', () => {
    it('an unknown run → 404', async () => {
      const res = await s.app.inject({ url: '/api/v1/workflows/wf-echo/runs/123456' })
      expect(res.statusCode).toBe(404)
      expect(res.json()).toMatchObject({ success: false, code: 'UPSTREAM_NOT_FOUND' })
    })
  })

  it('the OpenAPI document has every new route, tagged, with the workflow SSE frames', async () => {
    const doc = (await s.app.inject({ url: '/docs/json' })).json()
    const tagOf = (path: string, method: string) => doc.paths[path]?.[method]?.tags
    expect(tagOf('/api/v1/workflows/{workflow_id}/run', 'post')).toEqual(['workflows'])
    expect(tagOf('/api/v1/workflows/{workflow_id}/runs/{execute_id}', 'get')).toEqual(['workflows'])
    expect(tagOf('/api/v1/workflows/{workflow_id}/resume', 'post')).toEqual(['workflows'])
    expect(tagOf('/api/v1/workflows/{workflow_id}/execute', 'post')).toEqual(['workflows'])
    expect(tagOf('/api/v1/chat/tool-outputs', 'post')).toEqual(['chat'])
    expect(tagOf('/api/v1/chat/cancel', 'post')).toEqual(['chat'])
    expect(tagOf('/api/v1/bots', 'get')).toEqual(['bots'])
    expect(tagOf('/api/v1/bots/{bot_id}', 'get')).toEqual(['bots'])
    expect(doc.paths['/api/v1/workflows/{workflow_id}/run'].post.description).toContain('workflow_message')
    expect(doc.tags.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(['workflows', 'bots']))
  })

  describe('POST /api/v1/workflows/{id}/execute (platform docs shape)', () => {
    it('inputs are the parameters; answers {execution_id, status, result, start_time, end_time}', async () => {
      const res = await post(s, '/api/v1/workflows/wf-echo/execute', { inputs: { user_input: '如何使用Coze平台?' }, session_id: 'optional_session_id' })
      expect(res.statusCode).toBe(200)
      const body = res.json()
      expect(body.success).toBe(true)
      const d = body.data
      expect(d.execution_id).toMatch(/^\d+$/)
      expect(d.status).toBe('completed')
      expect(d.result).toEqual({ output: { user_input: '如何使用Coze平台?' } })
      expect(new Date(d.start_time).toISOString()).toBe(d.start_time)
      expect(new Date(d.end_time).getTime()).toBeGreaterThanOrEqual(new Date(d.start_time).getTime())
      expect(d.session_id).toBe('optional_session_id')
      expect(s.emu.requests.findLast((r) => r.path === '/v1/workflow/run')!.body).toMatchObject({ workflow_id: 'wf-echo', parameters: { user_input: '如何使用Coze平台?' } })
    })

    it('an interrupting workflow answers status interrupted with what to resume', async () => {
      const d = (await post(s, '/api/v1/workflows/wf-interrupt/execute', { inputs: {} })).json().data
      expect(d.status).toBe('interrupted')
      expect(d.interrupt).toMatchObject({ event_id: expect.any(String), interrupt_type: 2, data: 'What is your name?' })
    })

    it('unknown workflow → 404', async () => {
      const res = await post(s, '/api/v1/workflows/fault-4200/execute', { inputs: {} })
      expect(res.statusCode).toBe(404)
      expect(res.json().message).toMatch(/workflow id/)
    })
  })

  describe('over a real socket', () => {
    let slow: Stack
    let url: string
    beforeAll(async () => {
      slow = await startStack({ COZE_IDLE_TIMEOUT_MS: '1000' }, { deltaDelayMs: 100 })
      url = await slow.app.listen({ host: '127.0.0.1', port: 0 })
    })
    afterAll(async () => { await slow.close() })
    const stream = (signal?: AbortSignal) => fetch(`${url}/api/v1/workflows/wf-echo/run`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ parameters: { text: 'a b c d e f g h' }, stream: true }), signal
    })

    it('each workflow message is sent as it arrives, and a client that leaves aborts the Coze stream', async () => {
      const ac = new AbortController()
      const res = await stream(ac.signal)
      const reader = res.body!.getReader()
      const first = new TextDecoder().decode((await reader.read()).value)
      expect(first).toContain('"type":"workflow_message"')
      ac.abort()
      const until = Date.now() + 3000
      const upstream = () => slow.emu.requests.findLast((r) => r.path === '/v1/workflow/stream_run')!
      while (!upstream().aborted && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
      expect(upstream().aborted).toBe(true)
    })

    it('a Coze stream that goes silent longer than COZE_IDLE_TIMEOUT_MS ends with a timeout error frame', async () => {
      slow.emu.faults.inject({ kind: 'latency', deltaMs: 3000 }, { path: '/v1/workflow/stream_run', times: 1 })
      const res = await stream()
      const fs = frames(await res.text())
      expect(fs.map((f) => f.type).slice(-2)).toEqual(['error', 'end'])
      expect(fs.at(-2)).toMatchObject({ code: 'UPSTREAM_TIMEOUT', status: 504 })
    })
  })
})
