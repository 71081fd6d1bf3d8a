// Fastify compiles one fast-json-stringify serializer per route × response status, at
// ready(). Most of them are the same schema: the shared error envelope sits under every
// 4xx/5xx of every route (≈ 390 compilations for ≈ 40 distinct schemas when this was
// written). This factory wraps Fastify's default one and compiles each distinct schema
// once per encapsulation context (same external schemas, same options), which takes
// about a third off ready() and so off the cold start (BENCHMARKS.md, "Profiling").
// With `schemas` (the app's), a schema is compiled on its first answer (lazy-schemas.ts).
// Nullable scalars are compiled as type lists (nullableScalars below).
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import type { LazySchemas } from './lazy-schemas.js'

type Factory = ReturnType<typeof SerializerSelector>
type Serializer = ReturnType<ReturnType<Factory>>

/** `base`: the factory that really compiles (Fastify's default). */
export function cachingSerializerFactory (base: Factory = SerializerSelector(), schemas?: LazySchemas): Factory {
  const build = base
  return (externalSchemas, options) => {
    const compile = build(externalSchemas, options)
    const cache = new Map<string, Serializer>()
    const cached = (route: Parameters<typeof compile>[0]): Serializer => {
      // Schemas are plain JSON (TypeBox's symbol keys are ignored by both JSON.stringify
      // and fast-json-stringify), so equal text means an equal serializer.
      const key = JSON.stringify(route.schema)
      let s = cache.get(key)
      if (!s) {
        s = compile({ ...route, schema: nullableScalars(route.schema) })
        cache.set(key, s)
      }
      return s
    }
    return (route) => schemas ? schemas.serializer(`${route.method} ${route.url} response ${route.httpStatus}`, () => cached(route)) : cached(route)
  }
}

type Json = Record<string, unknown>

const SCALARS = new Set(['string', 'integer', 'number', 'boolean'])
const isNull = (s: unknown) => (s as Json | undefined)?.type === 'null' && Object.keys(s as Json).every((k) => k === 'type' || k === 'description')
const isScalar = (s: unknown) => typeof (s as Json | undefined)?.type === 'string' && SCALARS.has((s as Json).type as string) &&
  !['anyOf', 'oneOf', 'allOf', '$ref', 'enum', 'const', 'not', 'if'].some((k) => k in (s as Json))

/**
 * `anyOf: [<scalar>, null]` (TypeBox's `Type.Union([Type.String(), Type.Null()])`) as
 * `type: [<scalar>, 'null']`, for the serializer only: fast-json-stringify writes a type
 * list with a typeof check, where for an anyOf it compiles the whole response schema with
 * Ajv, on the first answer, to pick the branch (≈ half of a small route's first answer).
 * The schema itself (validation, the OpenAPI document) is not changed.
 */
export function nullableScalars (schema: unknown): unknown {
  if (Array.isArray(schema)) {
    const out = schema.map(nullableScalars)
    return out.some((v, i) => v !== schema[i]) ? out : schema
  }
  if (!schema || typeof schema !== 'object') return schema
  const s = schema as Json
  const branches = s.anyOf
  if (Array.isArray(branches) && branches.length === 2) {
    const [a, b] = isNull(branches[0]) ? [branches[1], branches[0]] : [branches[0], branches[1]]
    if (isNull(b) && isScalar(a)) {
      const { anyOf: _anyOf, ...rest } = s
      return { ...(a as Json), ...rest, type: [(a as Json).type, 'null'] }
    }
  }
  let changed: Json | undefined
  for (const [k, v] of Object.entries(s)) {
    const n = nullableScalars(v)
    if (n !== v) (changed ??= { ...s })[k] = n
  }
  return changed ?? schema
}
