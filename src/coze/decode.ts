// Upstream payloads are checked against a schema before the gateway reads them, so a
// malformed Coze answer becomes a 502 that says so, never a TypeError (500) or a
// made-up success. Validators compile on first use (cold start) with the Ajv that
// Fastify already loads.
import { Ajv, type ValidateFunction } from 'ajv'
import type { Static, TSchema } from 'typebox'
import { errors } from '../errors.js'

let ajv: Ajv | undefined

export type Decoder<T extends TSchema> = (value: unknown, logid?: string) => Static<T>

/** `what` names the payload in the 502 message, e.g. "a workflow run result". */
export function decoder<T extends TSchema> (schema: T, what: string): Decoder<T> {
  let validate: ValidateFunction | undefined
  return (value, logid) => {
    validate ??= (ajv ??= new Ajv({ strict: false, allErrors: false, coerceTypes: false })).compile(schema)
    if (!validate(value)) throw errors.upstreamMalformed(what, logid)
    return value as Static<T>
  }
}
