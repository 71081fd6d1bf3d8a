// Issue 18.5: no fake success. A malformed, truncated or refused Coze answer on a JSON
// endpoint is a 502 that says what happened, never a 200 with empty fields or a 500.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { DEFAULT_VOICE_ID, type Fault } from '../../src/emulator/index.js'
import { startStack, type Stack } from '../helpers/stack.js'

function form (fileName: string): Pick<InjectOptions, 'headers' | 'payload'> {
  const payload = `--XX\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\n\r\nsome bytes\r\n--XX--\r\n`
  return { headers: { 'content-type': 'multipart/form-data; boundary=XX' }, payload }
}

const ENDPOINTS: Array<[string, string, InjectOptions]> = [
  ['users/me', '/v1/users/me', { url: '/api/v1/user/info' }],
  ['workspaces', '/v1/workspaces', { url: '/api/v1/workspaces' }],
  ['conversation create', '/v1/conversation/create', { method: 'POST', url: '/api/v1/conversations', payload: { user_id: 'u1' } }],
  ['conversation list', '/v1/conversations', { url: '/api/v1/conversations?user_id=u1' }],
  ['message list', '/v1/conversation/message/list', { url: '/api/v1/conversations/{conversation}/messages' }],
  ['workflow run (sync)', '/v1/workflow/run', { method: 'POST', url: '/api/v1/workflows/wf-echo/run', payload: { parameters: { input: 'x' } } }],
  ['workflow run (async)', '/v1/workflow/run', { method: 'POST', url: '/api/v1/workflows/wf-echo/run', payload: { parameters: {}, is_async: true } }],
  ['workflow execute', '/v1/workflow/run', { method: 'POST', url: '/api/v1/workflows/wf-echo/execute', payload: { inputs: {} } }],
  ['bot list', '/v1/bots', { url: '/api/v1/bots?workspace_id=7500000000000000101' }],
  ['one bot', '/v1/bots/bot-tool', { url: '/api/v1/bots/bot-tool' }],
  ['upload', '/v1/files/upload', { method: 'POST', url: '/api/v1/upload', ...form('a.txt') }],
  ['transcription', '/v1/audio/transcriptions', { method: 'POST', url: '/api/v1/audio/transcriptions', ...form('voice.wav') }],
  ['voice list', '/v1/audio/voices', { url: '/api/v1/audio/voices' }],
  // Audio bytes are passed through as they come: only Coze's HTTP errors can be read (a cut answer: below).
  ['speech', '/v1/audio/speech', { method: 'POST', url: '/api/v1/audio/speech', payload: { input: 'hi', voice_id: DEFAULT_VOICE_ID } }]
]

const FAULTS: Array<[string, Fault, number, string, RegExp]> = [
  ['malformed JSON', { kind: 'malformed' }, 502, 'UPSTREAM_ERROR', /could not read/],
  ['a truncated answer', { kind: 'truncate' }, 502, 'UPSTREAM_TRUNCATED', /truncated/],
  ['HTTP 401', { kind: 'http_status', status: 401 }, 502, 'UPSTREAM_AUTH', /COZE_API_TOKEN/],
  ['HTTP 403', { kind: 'http_status', status: 403 }, 502, 'UPSTREAM_AUTH', /COZE_API_TOKEN/],
  ['HTTP 429', { kind: 'http_status', status: 429 }, 429, 'UPSTREAM_RATE_LIMITED', /rate limit/],
  ['HTTP 500', { kind: 'http_status', status: 500 }, 502, 'UPSTREAM_ERROR', /HTTP error/]
]

const rows = ENDPOINTS.flatMap(([name, path, req]) => FAULTS
  .filter(([, f]) => name !== 'speech' || f.kind === 'http_status')
  .map(([fault, f, status, code, message]) => [`${name}, ${fault}`, path, req, f, status, code, message] as const))

describe('a bad Coze answer is never a success or a 500', () => {
  let s: Stack
  let conversation = ''
  beforeAll(async () => {
    s = await startStack({ SESSION_STORE: 'memory' })
    conversation = (await s.app.inject({ method: 'POST', url: '/api/v1/conversations', payload: {} })).json().conversation_id
  })
  afterAll(async () => { await s.close() })
  afterEach(() => { s.emu.faults.clear() })

  it.each(rows)('%s', async (_name, path, req, fault, status, code, message) => {
    s.emu.faults.inject(fault, { path })
    const res = await s.app.inject({ ...req, url: String(req.url).replace('{conversation}', conversation) })
    expect(res.statusCode).toBe(status)
    expect(res.json()).toMatchObject({ success: false, data: null, code })
    expect(res.json().message).toMatch(message)
    // Nothing internal leaks (stack traces, TypeError names).
    expect(res.body).not.toMatch(/TypeError|at .*\.js|Cannot read/)
  })
})

describe('a cut audio answer is not a success', () => {
  it('the client\'s download fails instead of ending as if the audio were whole', async () => {
    const s = await startStack({ SESSION_STORE: 'memory' })
    try {
      const url = await s.app.listen({ port: 0, host: '127.0.0.1' })
      s.emu.faults.inject({ kind: 'truncate' }, { path: '/v1/audio/speech', times: 1 })
      const res = await fetch(`${url}/api/v1/audio/speech`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'a longer sentence to speak', voice_id: DEFAULT_VOICE_ID }) })
      expect(res.status).toBe(200)
      await expect(res.arrayBuffer()).rejects.toThrow()
    } finally { await s.close() }
  })
})
