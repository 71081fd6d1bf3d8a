// The application/json body parser of every route: JSON.parse, then one pass over the
// parsed value that refuses what the gateway will not carry, each with its own reason:
// nesting deeper than MAX_JSON_DEPTH (deep values overflow the stack of whatever walks
// them later: the SDK, axios, the serializer), and keys that could poison prototypes.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from './errors.js'

/** Deepest nesting of objects and arrays accepted in a JSON body. */
export const MAX_JSON_DEPTH = 64

type Done = (err: Error | null, body?: unknown) => void

/** Checks a parsed body without recursion. Returns the reason it is refused, or undefined. */
export function refusedJson (value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (depth > MAX_JSON_DEPTH) return `the JSON is nested deeper than ${MAX_JSON_DEPTH} levels (objects and arrays): send flatter data`
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push([x, depth + 1])
      continue
    }
    const o = v as Record<string, unknown>
    if (Object.hasOwn(o, '__proto__')) return 'keys named __proto__ are not accepted (they could change the prototype of objects built from the body)'
    const ctor = Object.hasOwn(o, 'constructor') ? o.constructor : undefined
    if (ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) {
      return 'a "constructor" object with a "prototype" key is not accepted (it could change the prototype of objects built from the body)'
    }
    for (const k in o) {
      const x = o[k]
      if (x !== null && typeof x === 'object') stack.push([x, depth + 1])
    }
  }
  return undefined
}

/** Replaces the application/json parser of `app` (and its children). `emptyAs`: the body of an empty request, else 400. */
export function useJsonParser (app: FastifyInstance, emptyAs?: () => unknown): void {
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request: FastifyRequest, body: string | Buffer, done: Done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text.trim() === '') {
      if (emptyAs) return done(null, emptyAs())
      return done(errors.invalidJson('The JSON body is empty: send a JSON object.'))
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      return done(errors.invalidJson(`Malformed JSON body: ${(err as Error).message}.`))
    }
    const why = refusedJson(value)
    if (why) return done(errors.invalid(`JSON body refused: ${why}.`))
    done(null, value)
  })
}
