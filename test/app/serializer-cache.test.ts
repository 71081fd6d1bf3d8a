// The serializer factory that compiles each distinct response schema once (cold start):
// responses must still be serialized by their own route's schema.
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import { cachingSerializerFactory } from '../../src/serializer-cache.js'

describe('cachingSerializerFactory', () => {
  it('serializes each route by its own schema, sharing one serializer between equal schemas', async () => {
    let compiled = 0
    const real = SerializerSelector()
    const counting: typeof real = (ext, opts) => { const c = real(ext, opts); return (route) => { compiled++; return c(route) } }
    const app = Fastify({ schemaController: { compilersFactory: { buildSerializer: cachingSerializerFactory(counting) } } })
    const shared = () => ({ type: 'object', properties: { ok: { type: 'boolean' } } })
    const payload = { ok: true, a: 1, b: 'x', secret: 's' }
    app.get('/a', { schema: { response: { 200: { type: 'object', properties: { a: { type: 'integer' } } }, 500: shared() } } }, async () => payload)
    app.get('/b', { schema: { response: { 200: { type: 'object', properties: { b: { type: 'string' } } }, 500: shared() } } }, async () => payload)
    app.get('/c', { schema: { response: { 200: shared() } } }, async () => payload)
    app.get('/fail', { schema: { response: { 500: shared() } } }, async (_req, reply) => reply.code(500).send(payload))
    expect((await app.inject('/a')).json()).toEqual({ a: 1 })
    expect((await app.inject('/b')).json()).toEqual({ b: 'x' })
    expect((await app.inject('/c')).json()).toEqual({ ok: true })
    expect((await app.inject('/fail')).json()).toEqual({ ok: true })
    // 6 route × status schemas, 3 distinct
    expect(compiled).toBe(3)
    await app.close()
  })
})
