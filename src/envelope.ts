// The response envelope every JSON answer uses: { success, message, data, ...extra }.

export interface Envelope<T = unknown> {
  success: boolean
  message: string
  data: T
  [extra: string]: unknown
}

export function ok<T> (message: string, data: T, extra: Record<string, unknown> = {}): Envelope<T> {
  return { success: true, message, data, ...extra }
}

export function fail (message: string, extra: Record<string, unknown> = {}, data: unknown = null): Envelope {
  return { success: false, message, data, ...extra }
}
