// Small statistics helpers: every figure in BENCHMARKS.md is the median of ≥ 3 rounds,
// shown with its min and max.

export interface Spread { median: number, min: number, max: number, n: number }

export function percentile (values: number[], p: number): number {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))
  return s[idx]!
}

export function median (values: number[]): number {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export function spread (values: number[]): Spread {
  const ok = values.filter((v) => Number.isFinite(v))
  return { median: median(ok), min: Math.min(...ok), max: Math.max(...ok), n: ok.length }
}

export function sum (values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

/** e.g. fmt(1234.5, 0) → "1,235"; NaN → "n/a" */
export function fmt (v: number, digits = 1): string {
  if (!Number.isFinite(v)) return 'n/a'
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** "median (min – max)" */
export function fmtSpread (s: Spread, digits = 1, unit = ''): string {
  if (s.n === 0) return 'n/a'
  return `${fmt(s.median, digits)}${unit} (${fmt(s.min, digits)} – ${fmt(s.max, digits)})`
}

export const MB = 1024 * 1024
