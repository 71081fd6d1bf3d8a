// Issue 18.2: every 4xx is in the surface's own error shape, Fastify's and Node's own
// refusals included: the /api/v1 envelope, OpenAI's {error}, the chatbot service's {detail}.
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { InjectOptions } from 'fastify'
import { startStack, type Stack } from '../helpers/stack.js'

type Shape = 'api' | 'openai' | 'chatbot'

/** The error code a body carries in its surface's shape, or a failure when the shape is wrong. */
function codeOf (shape: Shape, body: Record<string, any>): string {
  if (shape === 'api') {
    expect(body).toMatchObject({ success: false, data: null, message: expect.any(String), code: expect.any(String) })
    return body.code
  }
  if (shape === 'openai') {
    expect(body.error).toMatchObject({ message: expect.any(String), type: expect.any(String) })
    return body.error.code
  }
  expect(Object.keys(body)).toEqual(['detail'])
  expect(body.detail).toEqual(expect.any(String))
  return 'detail'
}

const long = 'a'.repeat(2000)

const rows: Array<[string, InjectOptions, number, Shape, string]> = [
  ['bad percent-encoding (%zz)', { url: '/api/v1/sessions/%zz' }, 400, 'api', 'INVALID_URL'],
  ['a lone %', { url: '/api/v1/bots/%' }, 400, 'api', 'INVALID_URL'],
  ['bad percent-encoding on the OpenAI API', { url: '/v1/models/%zz' }, 400, 'openai', 'invalid_url'],
  ['bad percent-encoding on the chatbot API', { url: '/session/%zz/info' }, 400, 'chatbot', 'detail'],
  ['a path segment over the router limit', { url: `/api/v1/sessions/${long}` }, 414, 'api', 'URI_TOO_LONG'],
  ['the same on the OpenAI API', { url: `/v1/models/${long}` }, 414, 'openai', 'uri_too_long'],
  ['OPTIONS without preflight headers', { method: 'OPTIONS', url: '/api/v1/chat' }, 400, 'api', 'VALIDATION_ERROR'],
  ['OPTIONS without preflight headers, OpenAI API', { method: 'OPTIONS', url: '/v1/chat/completions' }, 400, 'openai', 'validation_error'],
  ['GET on a POST-only route', { method: 'GET', url: '/api/v1/chat' }, 405, 'api', 'METHOD_NOT_ALLOWED'],
  ['PUT on a session', { method: 'PUT', url: '/api/v1/sessions/s1' }, 405, 'api', 'METHOD_NOT_ALLOWED'],
  ['GET on /v1/chat/completions', { method: 'GET', url: '/v1/chat/completions' }, 405, 'openai', 'method_not_allowed'],
  ['GET on /chat', { method: 'GET', url: '/chat' }, 405, 'chatbot', 'detail'],
  ['DELETE on a workflow run', { method: 'DELETE', url: '/api/v1/workflows/wf-echo/run' }, 405, 'api', 'METHOD_NOT_ALLOWED'],
  ['an unknown path is still 404', { url: '/api/v1/nope' }, 404, 'api', 'NOT_FOUND'],
  ['an unknown OpenAI path is still 404', { url: '/v1/nope' }, 404, 'openai', 'not_found']
]

describe('every 4xx is the surface\'s own error shape', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack({ SESSION_STORE: 'memory' }) })
  afterAll(async () => { await s.close() })

  it.each(rows)('%s → %i', async (_name, req, status, shape, code) => {
    const res = await s.app.inject(req)
    expect(res.statusCode).toBe(status)
    expect(String(res.headers['content-type'])).toContain('application/json')
    expect(codeOf(shape, res.json())).toBe(code)
  })

  it('405 names the allowed methods in Allow and in the message', async () => {
    const res = await s.app.inject({ method: 'PATCH', url: '/api/v1/sessions/s1' })
    expect(res.statusCode).toBe(405)
    expect(res.headers.allow).toBe('DELETE, GET, HEAD')
    expect(res.json().message).toBe('PATCH is not allowed on /api/v1/sessions/s1: use DELETE, GET, HEAD. See /docs for the API.')
  })

  it('every path of the OpenAPI document answers a method it lacks with 405 and Allow, in its surface\'s shape', async () => {
    const doc = (await s.app.inject('/docs/json')).json() as { paths: Record<string, Record<string, unknown>> }
    const failures: string[] = []
    for (const [path, ops] of Object.entries(doc.paths)) {
      const methods = Object.keys(ops).map((m) => m.toUpperCase())
      const allow = [...new Set([...methods, ...(methods.includes('GET') ? ['HEAD'] : [])])].sort().join(', ')
      const url = path.replace(/\{\w+\}/g, 'x1')
      const method = methods.includes('DELETE') ? 'PATCH' : 'DELETE'
      const shape: Shape = url.startsWith('/v1/') ? 'openai' : url.startsWith('/chat') || url.startsWith('/session/') ? 'chatbot' : 'api'
      const res = await s.app.inject({ method: method as 'DELETE', url })
      try {
        expect(res.statusCode).toBe(405)
        expect(res.headers.allow).toBe(allow)
        const code = codeOf(shape, res.json())
        expect(code).toBe(shape === 'api' ? 'METHOD_NOT_ALLOWED' : shape === 'openai' ? 'method_not_allowed' : 'detail')
      } catch (err) {
        failures.push(`${method} ${url}: ${res.statusCode} allow=${String(res.headers.allow)} ${res.body.slice(0, 100)} (${(err as Error).message.split('\n')[0]})`)
      }
    }
    expect(failures).toEqual([])
    expect(Object.keys(doc.paths).length).toBeGreaterThan(30)
  })

  it('a real CORS preflight still answers 204', async () => {
    const res = await s.app.inject({ method: 'OPTIONS', url: '/api/v1/chat', headers: { origin: 'http://example.com', 'access-control-request-method': 'POST' } })
    expect(res.statusCode).toBe(204)
  })

  describe('refusals of the HTTP parser, on a real socket', () => {
    let port = 0
    beforeAll(async () => {
      await s.app.listen({ port: 0, host: '127.0.0.1' })
      port = (s.app.server.address() as net.AddressInfo).port
    })

    const exchange = (text: string) => new Promise<string>((resolve) => {
      let out = ''
      const sock = net.connect(port, '127.0.0.1', () => sock.write(text))
      sock.on('data', (d) => { out += String(d) })
      sock.on('error', () => {})
      sock.on('close', () => resolve(out))
    })

    it.each([
      ['headers over 16 KB', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
      ['a URL over 16 KB', `GET /api/v1/sessions?user_id=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
      ['a request line that is not HTTP', 'HELLO\r\n\r\n', 400, 'VALIDATION_ERROR']
    ])('%s → %i envelope', async (_name, text, status, code) => {
      const out = await exchange(text)
      expect(out).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `))
      expect(out).toMatch(/content-type: application\/json/i)
      const body = JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4))
      expect(codeOf('api', body)).toBe(code)
    })
  })
})
