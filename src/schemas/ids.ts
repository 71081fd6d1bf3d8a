import { Type } from 'typebox'

/** Coze ids go into Coze URLs unencoded (by the SDK), so only safe characters are accepted. */
export const COZE_ID_PATTERN = '^[A-Za-z0-9_-]{1,128}$'
/** Session ids are the client's own names (Chinese user names too), but never URL or key syntax: no spaces, / ? # % & … */
export const SESSION_ID_PATTERN = '^[\\p{L}\\p{M}\\p{N}_.:@-]{1,128}$'

/** What a failed pattern means, in the 400 message. */
export const PATTERN_HINTS: Readonly<Record<string, string>> = {
  [COZE_ID_PATTERN]: '1 to 128 letters, digits, _ or - (a Coze id)',
  [SESSION_ID_PATTERN]: '1 to 128 letters (of any script), digits, _ . : @ or -'
}

/**
 * Longest path parameter the router accepts (Fastify's maxParamLength, counted on the
 * percent-encoded URL): 128 characters of 4 UTF-8 bytes each, each byte written %XX.
 */
export const MAX_PARAM_CHARS = 128 * 4 * 3

export const CozeId = (description: string) => Type.String({ pattern: COZE_ID_PATTERN, description: `${description} (letters, digits, _ and -)` })
