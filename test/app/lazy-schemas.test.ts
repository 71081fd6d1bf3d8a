// Route schemas compiled on first use (cold start): none at start, each on its route's
// first request; every one of the gateway's compiles; a broken one is a 500 on its route.
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LazySchemas } from '../../src/lazy-schemas.js'
import { cachingSerializerFactory } from '../../src/serializer-cache.js'
import { validatorFactory } from '../../src/validation.js'
import { startStack, type Stack } from '../helpers/stack.js'

describe('the gateway with lazy schemas', () => {
  let s: Stack
  beforeAll(async () => { s = await startStack() })
  afterAll(async () => { await s.close() })

  it('compiles no schema to get ready, a route\'s own on its first request; every schema of the gateway compiles', async () => {
    const atStart = s.app.lazySchemas.uncompiled
    expect(atStart).toBeGreaterThan(100)

    const bad = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', messages: 'hello' } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ success: false, message: expect.stringContaining('messages') })
    const ok = await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', messages: [{ role: 'user', content: 'hi' }] } })
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toMatchObject({ success: true, data: { status: 'completed' } })
    const compiled = atStart - s.app.lazySchemas.uncompiled
    expect(compiled).toBeGreaterThan(0)
    expect(compiled).toBeLessThan(20)

    // every schema of every route compiles
    const failures: unknown[] = []
    s.app.lazySchemas.compileAll((err) => failures.push(err))
    expect(failures).toEqual([])
    expect(s.app.lazySchemas.uncompiled).toBe(0)
  })
})

describe('LazySchemas', () => {
  it('a schema that does not compile: the app still starts, its route answers 500', async () => {
    const lazy = new LazySchemas()
    const app = Fastify({ schemaController: { compilersFactory: { buildValidator: validatorFactory(lazy), buildSerializer: cachingSerializerFactory(undefined, lazy) } } })
    app.post('/broken', { schema: { body: { type: 'object', properties: { a: { type: 'no-such-type' } } } } }, async () => ({ ok: true }))
    app.post('/fine', { schema: { body: { type: 'object', required: ['a'], properties: { a: { type: 'integer' } } }, response: { 200: { type: 'object', properties: { a: { type: 'integer' } } } } } }, async (req) => ({ a: (req.body as { a: number }).a, dropped: true }))
    await app.ready()
    expect(lazy.uncompiled).toBe(3)

    expect((await app.inject({ method: 'POST', url: '/broken', payload: { a: 1 } })).statusCode).toBe(500)
    const fine = await app.inject({ method: 'POST', url: '/fine', payload: { a: 2 } })
    expect(fine.json()).toEqual({ a: 2 })
    const refused = await app.inject({ method: 'POST', url: '/fine', payload: { a: 'x' } })
    expect(refused.statusCode).toBe(400)
    expect(refused.json().message).toBe('body/a must be integer')

    // /broken's schema failed on its first request already: nothing is left to compile
    const failures: unknown[] = []
    lazy.compileAll((err) => failures.push(err))
    expect(lazy.uncompiled).toBe(0)
    expect(failures).toEqual([])
    await app.close()
  })

  it('compileAll reports a broken schema no request has used yet, with its route', async () => {
    const lazy = new LazySchemas()
    const app = Fastify({ schemaController: { compilersFactory: { buildValidator: validatorFactory(lazy) } } })
    app.post('/broken', { schema: { body: { type: 'object', properties: { a: { type: 'no-such-type' } } } } }, async () => ({ ok: true }))
    await app.ready()
    const failures: string[] = []
    lazy.compileAll((err, what) => failures.push(`${what}: ${String(err)}`))
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatch(/^POST \/broken body: Error: schema is invalid: data\/properties\/a\/type/)
    expect((await app.inject({ method: 'POST', url: '/broken', payload: { a: 1 } })).statusCode).toBe(500)
    await app.close()
  })
})
