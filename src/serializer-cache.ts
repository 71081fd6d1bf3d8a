// Fastify compiles one fast-json-stringify serializer per route × response status, at
// ready(). Most of them are the same schema: the shared error envelope sits under every
// 4xx/5xx of every route (≈ 390 compilations for ≈ 40 distinct schemas when this was
// written). This factory wraps Fastify's default one and compiles each distinct schema
// once per encapsulation context (same external schemas, same options), which takes
// about a third off ready() and so off the cold start (BENCHMARKS.md, "Profiling").
// With `schemas` (the app's), a schema is compiled on its first answer (lazy-schemas.ts).
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
        s = compile(route)
        cache.set(key, s)
      }
      return s
    }
    return (route) => schemas ? schemas.serializer(`${route.method} ${route.url} response ${route.httpStatus}`, () => cached(route)) : cached(route)
  }
}
