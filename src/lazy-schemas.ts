// Fastify compiles every route's schemas when the app gets ready (Ajv validators and
// fast-json-stringify serializers), and that was the largest part of a cold start
// (BENCHMARKS.md, "Cold start"). The compilers of the app (validation.ts,
// serializer-cache.ts) hand Fastify these stand-ins instead: each compiles its schema on
// its first call, so a start compiles none and a process compiles only the routes it
// serves. compileAll() compiles the rest (the tests check that every schema compiles).

/** What Fastify calls and reads of a validator (Ajv's own function has the same shape). */
export interface ValidateFn {
  (data: unknown, dataCxt?: unknown): unknown
  errors?: unknown
  schemaEnv?: unknown
}

export type SerializeFn = (data: unknown) => string

export class LazySchemas {
  /** What is left to compile, each with the route part it is for ("POST /api/v1/chat body"). */
  private readonly pending = new Map<() => unknown, string>()

  /** How many schemas are not compiled yet. */
  get uncompiled (): number { return this.pending.size }

  validator (what: string, compile: () => ValidateFn): ValidateFn {
    const get = this.once(what, compile)
    const lazy: ValidateFn = (data, dataCxt) => {
      const fn = get()
      const result = fn(data, dataCxt)
      lazy.errors = fn.errors
      return result
    }
    // Fastify passes Ajv's functions (which have a schemaEnv) the parent of the data, so
    // that Ajv can replace a coerced root value; it reads this just before the call.
    Object.defineProperty(lazy, 'schemaEnv', { get: () => get().schemaEnv })
    return lazy
  }

  serializer (what: string, compile: () => SerializeFn): SerializeFn {
    const get = this.once(what, compile)
    return (data) => get()(data)
  }

  /** Compiles every schema not compiled yet; one that does not compile is reported (and is a 500 on its route). */
  compileAll (onError: (err: unknown, what: string) => void): void {
    for (const [compile, what] of this.pending) {
      try { compile() } catch (err) { onError(err, what) }
    }
  }

  private once<T> (what: string, compile: () => T): () => T {
    let value: T | undefined
    let failed: { err: unknown } | undefined
    const get = (): T => {
      if (value !== undefined) return value
      if (failed) throw failed.err
      this.pending.delete(get)
      try { value = compile() } catch (err) { failed = { err }; throw err }
      return value
    }
    this.pending.set(get, what)
    return get
  }
}
