// Fastify compiles every route's schemas when the app gets ready (Ajv validators and
// fast-json-stringify serializers), and that was the largest part of a cold start
// (BENCHMARKS.md, "Cold start"). The compilers of the app (validation.ts,
// serializer-cache.ts) hand Fastify these stand-ins instead: each compiles its schema on
// its first call, so a start compiles none. After the server listens, warmUp() compiles
// the rest a few at a time between requests, so the first call of a route seldom pays
// for it and a broken schema shows up in the log soon after the start.
import { setImmediate as nextTurn } from 'node:timers/promises'

/** What Fastify calls and reads of a validator (Ajv's own function has the same shape). */
export interface ValidateFn {
  (data: unknown, dataCxt?: unknown): unknown
  errors?: unknown
  schemaEnv?: unknown
}

export type SerializeFn = (data: unknown) => string

/** The schemas a warm-up compiles per turn of the event loop (one: a request waits for one compile at most). */
const PER_TURN = 1

export class LazySchemas {
  /** What is left to compile, each with the route part it is for ("POST /api/v1/chat body"). */
  private readonly pending = new Map<() => unknown, string>()
  private stopped = false

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

  /** Compiles every schema not compiled yet, yielding to the event loop between batches. */
  async warmUp (onError: (err: unknown, what: string) => void = () => {}): Promise<void> {
    let n = 0
    for (const [compile, what] of this.pending) {
      if (this.stopped) return
      // A schema that does not compile throws again on its route's first call (a 500).
      try { compile() } catch (err) { onError(err, what) }
      if (++n % PER_TURN === 0) await nextTurn()
    }
  }

  /** Ends a warm-up under way (the app is closing). */
  stop (): void { this.stopped = true }

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
