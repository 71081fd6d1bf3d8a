// The served OpenAPI document (/docs/json) as Swagger UI, client generators and
// `redocly lint` see it, and the streams checked against the frame schemas it declares.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Ajv } from 'ajv'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'

type Json = Record<string, any>
const METHODS = ['get', 'put', 'post', 'delete', 'patch']

function operations (spec: Json): Array<{ method: string, path: string, op: Json }> {
  const out: Array<{ method: string, path: string, op: Json }> = []
  for (const [path, item] of Object.entries(spec.paths) as Array<[string, Json]>) {
    for (const method of METHODS) if (item[method]) out.push({ method, path, op: item[method] })
  }
  return out
}

/** `data:` payloads of an SSE body, without heartbeats and OpenAI's `[DONE]`. */
function frames (body: string): Json[] {
  return body.split('\n\n').map((b) => b.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'))
    .filter((d) => d && d !== '[DONE]').map((d) => JSON.parse(d) as Json)
}

describe('the OpenAPI document', () => {
  let s: Stack
  let spec: Json
  beforeAll(async () => {
    s = await startStack()
    spec = (await s.app.inject('/docs/json')).json()
  })
  afterAll(async () => { await s.close() })

  it('passes `redocly lint` (recommended rules) with no error and no invalid example', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coze-gw-openapi-'))
    try {
      const file = join(dir, 'openapi.json')
      writeFileSync(file, JSON.stringify(spec))
      const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }
      // exits 1 when there are errors: the report is read either way
      const { stdout } = await promisify(execFile)('node_modules/.bin/redocly', ['lint', file, '--format=json', '--extends=recommended'], { env, cwd: process.cwd(), maxBuffer: 16 << 20 })
        .catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }))
      const report = JSON.parse(stdout) as { totals: { errors: number }, problems: Array<{ ruleId: string, severity: string, message: string, location: Array<{ pointer: string }> }> }
      const shown = (p: typeof report.problems[number]) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`
      expect(report.problems.filter((p) => p.severity === 'error').map(shown)).toEqual([])
      expect(report.problems.filter((p) => p.ruleId === 'no-invalid-media-type-examples' || p.ruleId === 'operation-operationId').map(shown)).toEqual([])
      expect(report.totals.errors).toBe(0)
    } finally { rmSync(dir, { recursive: true, force: true }) }
  }, 60_000)

  it('gives every operation a unique, clean operationId', () => {
    const ops = operations(spec)
    const ids = ops.map(({ op }) => op.operationId)
    for (const [i, id] of ids.entries()) expect(id, `${ops[i]!.method} ${ops[i]!.path}`).toMatch(/^[a-z][A-Za-z]+$/)
    expect(new Set(ids).size).toBe(ids.length)
    const byRoute = Object.fromEntries(ops.map(({ method, path, op }) => [`${method} ${path}`, op.operationId]))
    expect(byRoute).toMatchObject({
      'post /api/v1/chat': 'chat',
      'post /api/v1/upload': 'uploadFile',
      'delete /api/v1/sessions/{session_id}': 'deleteSession',
      'post /v1/chat/completions': 'createChatCompletion'
    })
  })

  it('declares the upload as multipart/form-data with a binary file and a description, so Swagger UI shows a file picker', () => {
    const body = spec.paths['/api/v1/upload'].post.requestBody
    const form = body.content['multipart/form-data'].schema
    expect(form.properties.file).toMatchObject({ type: 'string', format: 'binary' })
    expect(form.properties.description).toMatchObject({ type: 'string' })
    expect(form.required).toEqual(['file'])
  })

  it('declares the security scheme of gateway API keys (optional for now), and a server', () => {
    expect(spec.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(spec.security).toEqual([{}, { bearerAuth: [] }])
    for (const p of ['/health', '/']) expect(spec.paths[p].get.security).toEqual([])
    expect(spec.servers.length).toBeGreaterThan(0)
    expect(spec.servers[0].url).toBe('/')
    expect(spec.info.license.name).toBe('MIT')
  })

  it('shows each error status with its own example, in the surface\'s own error format', () => {
    const chat = spec.paths['/api/v1/chat'].post.responses
    const example = (status: string) => chat[status].content['application/json'].example
    expect(example('400')).toMatchObject({ success: false, code: 'VALIDATION_ERROR' })
    expect(example('404')).toMatchObject({ success: false, code: 'NOT_FOUND' })
    expect(example('429')).toMatchObject({ success: false, code: 'RATE_LIMITED' })
    expect(example('502')).toMatchObject({ success: false, code: 'UPSTREAM_AUTH', coze_code: 4100 })
    expect(example('504')).toMatchObject({ success: false, code: 'UPSTREAM_TIMEOUT' })
    expect(chat['502'].description).toContain('UPSTREAM_AUTH')
    expect(spec.paths['/v1/chat/completions'].post.responses['404'].content['application/json'].example.error.code).toBe('model_not_found')
    expect(spec.paths['/chat'].post.responses['409'].content['application/json'].example).toEqual({ detail: expect.stringContaining('CHAT_QUEUE_TIMEOUT_MS') })

    for (const { method, path, op } of operations(spec)) {
      const seen = new Map<string, string>()
      for (const [status, r] of Object.entries(op.responses) as Array<[string, Json]>) {
        if (Number(status) < 400) continue
        const ex = r.content?.['application/json']?.example
        expect(ex, `${method} ${path} ${status}`).toBeDefined()
        const key = JSON.stringify(ex)
        expect(seen.get(key), `${method} ${path}: ${status} repeats the example of ${seen.get(key)}`).toBeUndefined()
        seen.set(key, status)
      }
    }
  })

  it('has a 200 example for every JSON answer, never Swagger UI\'s additionalProp1', () => {
    for (const { method, path, op } of operations(spec)) {
      const json = op.responses['200']?.content?.['application/json']
      if (!json) continue
      expect(json.example, `${method} ${path}`).toBeDefined()
      expect(JSON.stringify(json.example), `${method} ${path}`).not.toMatch(/additionalProp/)
    }
    expect(spec.paths['/v1/chat/completions'].post.responses['200'].content['application/json'].example.object).toBe('chat.completion')
  })

  describe('streams match the text/event-stream frame schemas the document declares', () => {
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true })
    function check (path: string, method: string, body: string): Json[] {
      const schema = spec.paths[path][method].responses['200'].content['text/event-stream']?.schema
      expect(schema, `${method} ${path} declares text/event-stream`).toBeDefined()
      const validate = ajv.compile({ ...schema, components: spec.components })
      const fs = frames(body)
      expect(fs.length).toBeGreaterThan(0)
      for (const f of fs) expect(validate(f) ? 'valid' : `${JSON.stringify(f)}: ${ajv.errorsText(validate.errors)}`).toBe('valid')
      return fs
    }
    const post = (url: string, payload: Json) => s.app.inject({ method: 'POST', url, payload })

    it('POST /api/v1/chat (answer, reasoning, follow-ups, tool calls, a broken stream) and tool-outputs', async () => {
      for (const bot of [undefined, 'bot-reasoning', 'bot-followup']) {
        check('/api/v1/chat', 'post', (await post('/api/v1/chat', { user_id: 'u1', ...(bot ? { bot_id: bot } : {}), messages: [userMsg('hello there')], stream: true })).body)
      }
      const tool = check('/api/v1/chat', 'post', (await post('/api/v1/chat', { user_id: 'u1', bot_id: 'bot-tool', messages: [userMsg('Oslo')], stream: true })).body)[0]!
      check('/api/v1/chat/tool-outputs', 'post', (await post('/api/v1/chat/tool-outputs', {
        user_id: 'u1', conversation_id: tool.conversation_id, chat_id: tool.chat_id, tool_outputs: [{ tool_call_id: tool.tool_calls[0].id, output: 'snow' }], stream: true
      })).body)
      s.emu.faults.inject({ kind: 'truncate', afterDeltas: 1 }, { path: '/v3/chat', times: 1 })
      const broken = check('/api/v1/chat', 'post', (await post('/api/v1/chat', { user_id: 'u1', messages: [userMsg('one two three')], stream: true })).body)
      expect(broken.map((f) => f.type)).toContain('error')
    })

    it('POST /chat/stream and POST /v1/chat/completions', async () => {
      check('/chat/stream', 'post', (await post('/chat/stream', { message: '你好' })).body)
      check('/v1/chat/completions', 'post', (await post('/v1/chat/completions', { stream: true, stream_options: { include_usage: true }, messages: [userMsg('hello')] })).body)
    })

    it('workflow runs and resume', async () => {
      check('/api/v1/workflows/{workflow_id}/run', 'post', (await post('/api/v1/workflows/wf-echo/run', { parameters: { input: 'x' }, stream: true })).body)
      const fs = check('/api/v1/workflows/{workflow_id}/run', 'post', (await post('/api/v1/workflows/wf-interrupt/run', { parameters: {}, stream: true })).body)
      const interrupt = fs.find((f) => f.type === 'interrupt')!
      check('/api/v1/workflows/{workflow_id}/resume', 'post', (await post('/api/v1/workflows/wf-interrupt/resume', { event_id: interrupt.event_id, resume_data: 'Alice', interrupt_type: interrupt.interrupt_type })).body)
    })
  })
})
