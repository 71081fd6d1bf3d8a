// How requests are checked against their route schemas (Fastify's validator compiler):
// - types are what the schema says in a JSON body: no coercion ("true", 1 or [true] is
//   not a boolean, ["a"] is not a string). Query strings and path parameters arrive as
//   text, so there strings are converted (coerceTypes 'array', Fastify's default);
// - "not given" has one meaning on every route, derived from each route's own schema
//   when it is compiled: an optional field that is null (and the schema has no use for
//   null), or an empty string where the schema refuses one (an optional id), is removed
//   before validation, so its default applies. In a query string every empty optional
//   field (one with a default too) is "not given". Frontends that keep `conversationId = null` in state work.
// - Ajv coerces "Infinity" to a number and then skips minimum/maximum (they only check
//   finite numbers), so numbers from text are checked to be finite after it.
// - with `schemas` (the app's), each schema is compiled on its route's first request (lazy-schemas.ts).
import AjvCompiler from '@fastify/ajv-compiler'
import type { LazySchemas, ValidateFn } from './lazy-schemas.js'

type JsonSchema = Record<string, unknown>
type BuildValidator = ReturnType<typeof AjvCompiler>
type Compile = ReturnType<BuildValidator>
type CompilerOptions = Parameters<BuildValidator>[1]

/** The compilersFactory.buildValidator of the app: one Ajv for JSON bodies, one for text parts. */
export function validatorFactory (schemas?: LazySchemas): BuildValidator {
  const base = AjvCompiler()
  return (externalSchemas, options) => {
    const custom = options?.customOptions ?? {}
    // Made on the first compile: each Ajv compiles the meta-schema to check the shared schemas.
    let forText: Compile | undefined
    let forJson: Compile | undefined
    const build = (route: Parameters<Compile>[0]): ValidateFn => {
      const text = route.httpPart !== 'body'
      const ajv = text
        ? forText ??= base(externalSchemas, { ...options, customOptions: { ...custom, coerceTypes: 'array' } } as CompilerOptions)
        : forJson ??= base(externalSchemas, { ...options, customOptions: { ...custom, coerceTypes: false } } as CompilerOptions)
      const validate = ajv(route) as ValidateFn
      const normalize = notGivenRemover(route.schema as JsonSchema, text)
      const numbers = text ? numericKeys(route.schema as JsonSchema) : []
      if (!normalize && numbers.length === 0) return validate
      const wrapped: ValidateFn = (data) => {
        normalize?.(data)
        const result = validate(data)
        wrapped.errors = validate.errors
        if (result === true && numbers.length > 0) {
          const o = data as Record<string, unknown>
          const bad = numbers.find((k) => typeof o[k] === 'number' && !Number.isFinite(o[k]))
          if (bad !== undefined) {
            wrapped.errors = [{ instancePath: `/${bad}`, schemaPath: `#/properties/${bad}/type`, keyword: 'type', params: { type: 'a finite number' }, message: 'must be a finite number' }]
            return false
          }
        }
        return result
      }
      // Fastify calls it and reads .errors, as it does with Ajv's own function.
      return wrapped
    }
    const compile: Compile = (route) => (schemas ? schemas.validator(`${route.method} ${route.url} ${route.httpPart}`, () => build(route)) : build(route)) as ReturnType<Compile>
    return compile
  }
}

type Normalize = (value: unknown) => void

/** The number and integer properties of an object schema (query strings, path parameters). */
function numericKeys (schema: JsonSchema): string[] {
  const props = schema.properties as Record<string, JsonSchema> | undefined
  if (!props) return []
  return Object.keys(props).filter((k) => branches(props[k]!).some((b) => typesOf(b).some((t) => t === 'number' || t === 'integer')))
}

/** Removes the "not given" optional fields `schema` describes; undefined when there is nothing to do. */
export function notGivenRemover (schema: JsonSchema, text: boolean): Normalize | undefined {
  return objectRemover(schema, text) ?? undefined
}

function branches (s: JsonSchema): JsonSchema[] {
  const any = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined
  return Array.isArray(any) ? any.flatMap(branches) : [s]
}

const typesOf = (s: JsonSchema): string[] => {
  const t = s.type
  return Array.isArray(t) ? t as string[] : typeof t === 'string' ? [t] : []
}

function acceptsNull (s: JsonSchema): boolean {
  return branches(s).some((b) => typesOf(b).includes('null') || b.nullable === true || b.const === null)
}

/** Whether "" is valid for `s` (strings only; JSON bodies are not coerced). */
function acceptsEmpty (s: JsonSchema): boolean {
  return branches(s).some((b) => {
    if (b.const !== undefined) return b.const === ''
    if (Array.isArray(b.enum)) return b.enum.includes('')
    const types = typesOf(b)
    if (types.length > 0 && !types.includes('string')) return false
    if (typeof b.minLength === 'number' && b.minLength > 0) return false
    if (typeof b.pattern === 'string' && !new RegExp(b.pattern, 'u').test('')) return false
    return true
  })
}

function objectRemover (schema: JsonSchema, text: boolean): Normalize | null {
  const props = schema.properties as Record<string, JsonSchema> | undefined
  if (!props) return null
  const required = new Set(Array.isArray(schema.required) ? schema.required as string[] : [])
  const steps: Array<{ key: string, dropNull: boolean, dropEmpty: boolean, child: Normalize | null }> = []
  for (const [key, prop] of Object.entries(props)) {
    // A field with a default is optional whatever `required` says (Ajv fills it in).
    const optional = !required.has(key) || prop.default !== undefined
    const dropNull = optional && !acceptsNull(prop)
    const dropEmpty = optional && (text || !acceptsEmpty(prop))
    const child = text ? null : valueRemover(prop, text)
    if (dropNull || dropEmpty || child) steps.push({ key, dropNull, dropEmpty, child })
  }
  if (steps.length === 0) return null
  return (value) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return
    const o = value as Record<string, unknown>
    for (const s of steps) {
      const v = o[s.key]
      if (v === undefined) continue
      if ((v === null && s.dropNull) || (v === '' && s.dropEmpty)) delete o[s.key]
      else if (s.child && v !== null && typeof v === 'object') s.child(v)
    }
  }
}

/** Nested objects, and arrays of them (e.g. messages[]), get the same treatment. */
function valueRemover (schema: JsonSchema, text: boolean): Normalize | null {
  let forObject: Normalize | null = null
  let forArray: Normalize | null = null
  for (const b of branches(schema)) {
    if (b.properties) forObject ??= objectRemover(b, text)
    const items = b.items as JsonSchema | undefined
    if (items && typeof items === 'object' && !Array.isArray(items)) {
      const each = valueRemover(items, text)
      if (each) forArray ??= (v) => { for (const x of v as unknown[]) if (x !== null && typeof x === 'object') each(x) }
    }
  }
  if (!forObject && !forArray) return null
  return (v) => { if (Array.isArray(v)) forArray?.(v); else forObject?.(v) }
}
