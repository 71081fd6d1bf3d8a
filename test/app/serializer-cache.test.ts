// The serializer factory that compiles each distinct response schema once (cold start):
// responses must still be serialized by their own route's schema.
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import { cachingSerializerFactory, nullableScalars } from '../../src/serializer-cache.js'

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

describe('nullableScalars (what the serializer compiles)', () => {
  const Stamp = { type: 'string', format: 'date-time' }
  const schema = {
    type: 'object',
    properties: {
      at: { anyOf: [Stamp, { type: 'null' }], description: 'when' },
      n: { anyOf: [{ type: 'null' }, { type: 'integer' }] },
      either: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
      list: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'null' }] } },
      obj: { anyOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'null' }] }
    }
  }

  it('turns anyOf [scalar, null] into a type list, leaves every other union, and copies instead of changing the schema', () => {
    const before = JSON.stringify(schema)
    const out = nullableScalars(schema) as any
    expect(JSON.stringify(schema)).toBe(before)
    expect(out.properties.at).toEqual({ type: ['string', 'null'], format: 'date-time', description: 'when' })
    expect(out.properties.n).toEqual({ type: ['integer', 'null'] })
    expect(out.properties.list.items).toEqual({ type: ['string', 'null'] })
    expect(out.properties.either).toBe(schema.properties.either)
    expect(out.properties.obj).toBe(schema.properties.obj)
  })

  it('serializes the same JSON as the schema it replaces', async () => {
    const app = Fastify({ schemaController: { compilersFactory: { buildSerializer: cachingSerializerFactory() } } })
    const plain = Fastify()
    const at = new Date('2025-01-01T12:00:00.000Z')
    const rows = [{ at, n: 3, either: 'x', list: ['a', null], obj: null }, { at: null, n: null, either: 4, list: [], obj: { a: 'b', c: 1 } }, { at: '2025-01-02T00:00:00.000Z' }]
    for (const a of [app, plain]) a.get('/', { schema: { response: { 200: { type: 'array', items: schema } } } }, async () => rows)
    const ours = (await app.inject('/')).body
    expect(ours).toBe((await plain.inject('/')).body)
    expect(JSON.parse(ours)[1]).toEqual({ at: null, n: null, either: 4, list: [], obj: { a: 'b' } })
    await app.close()
    await plain.close()
  })
})
