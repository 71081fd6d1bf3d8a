// Shared TypeBox schemas: the envelope and its error form.
import { Type, type TSchema, type TProperties } from 'typebox'

export const ErrorEnvelopeSchema = Type.Object({
  success: Type.Literal(false),
  message: Type.String({ description: 'What went wrong and what to fix' }),
  data: Type.Any({ description: 'null, or details for some errors' }),
  code: Type.String({ description: 'Stable gateway error code, e.g. VALIDATION_ERROR, UPSTREAM_AUTH, UPSTREAM_TIMEOUT' }),
  coze_code: Type.Optional(Type.Integer({ description: 'The Coze business code, when Coze reported the error' })),
  logid: Type.Optional(Type.String({ description: 'The Coze logid of the failed upstream call' })),
  details: Type.Optional(Type.Any())
}, {
  $id: 'ErrorEnvelope',
  description: 'Every error: the envelope with success=false',
  examples: [{ success: false, message: 'Invalid request: messages is required', data: null, code: 'VALIDATION_ERROR' }]
})

export const ErrorRef = Type.Ref('ErrorEnvelope')

/** The success envelope around `data`, with optional extra top-level fields. */
export function Envelope<T extends TSchema> (data: T, extra: TProperties = {}, description?: string) {
  return Type.Object({
    success: Type.Boolean(),
    message: Type.String(),
    data,
    ...extra
  }, { description: description ?? 'Envelope: { success, message, data }', additionalProperties: true })
}

/** Error statuses most routes can answer with. */
export const CommonErrors = {
  400: ErrorRef,
  429: ErrorRef,
  500: ErrorRef
}

export const UpstreamErrors = {
  ...CommonErrors,
  402: ErrorRef,
  404: ErrorRef,
  409: ErrorRef,
  502: ErrorRef,
  503: ErrorRef,
  504: ErrorRef
}

/** Paging parameters: integers with both bounds, so Infinity or 1e20 is a 400, never a 500 from the serializer or the store. */
export const MAX_PAGE_NUM = 100_000
export const PageNum = () => Type.Integer({ minimum: 1, maximum: MAX_PAGE_NUM, default: 1, description: `From 1 to ${MAX_PAGE_NUM}` })
export const PageSize = (max: number) => Type.Integer({ minimum: 1, maximum: max, default: 20, description: `From 1 to ${max}` })

export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601' })
export const Usage = Type.Object({
  token_count: Type.Integer(),
  output_count: Type.Integer(),
  input_count: Type.Integer()
}, { description: 'Coze token usage of the chat' })

/** A 200 that is JSON, or Server-Sent Events with `"stream": true`. */
export function jsonOrStream (json: TSchema, frames: TSchema, description: string) {
  return {
    description,
    content: {
      'application/json': { schema: json },
      'text/event-stream': { schema: frames }
    }
  }
}

/** A 200 that is only ever a stream. */
export function streamOnly (frames: TSchema, description: string) {
  return { description, content: { 'text/event-stream': { schema: frames } } }
}
