import { Type } from 'typebox'

/** Coze ids go into Coze URLs unencoded (by the SDK), so only safe characters are accepted. */
export const CozeId = (description: string) => Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$', description: `${description} (letters, digits, _ and -)` })
