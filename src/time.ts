// Every timestamp the gateway answers with is ISO 8601 text; Coze counts unix seconds.

/** Coze's unix seconds → ISO 8601. null, 0 (Coze's "never") and nonsense are null. */
export function isoFromUnix (seconds: number | null | undefined): string | null {
  if (typeof seconds !== 'number' || !(seconds > 0)) return null
  const d = new Date(seconds * 1000)
  return Number.isFinite(d.getTime()) ? d.toISOString() : null
}
