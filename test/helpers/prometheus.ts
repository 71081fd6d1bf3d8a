// A scrape of GET /metrics read by a real Prometheus text-format parser
// (parse-prometheus-text-format), never by a regex: families, their types, their series.
//
// That parser folds every series of a *labelled* histogram into one (it groups the samples
// of a family by `le` only), so histograms are read a second time with their `# TYPE`
// comment saying untyped: the parser then gives each `_bucket`, `_sum` and `_count` series
// with its own labels, as it does for any other sample line.
import parsePrometheusTextFormat, { type PromFamily, type PromSample } from 'parse-prometheus-text-format'

export class Scrape {
  readonly families: Map<string, PromFamily>
  private readonly untyped: Map<string, PromFamily>

  constructor (readonly text: string) {
    const families = parsePrometheusTextFormat(text)
    this.families = new Map(families.map((f) => [f.name, f]))
    const histograms = new Set(families.filter((f) => f.type === 'HISTOGRAM').map((f) => `# TYPE ${f.name} histogram`))
    const flat = text.split('\n').map((l) => histograms.has(l) ? l.replace(/ histogram$/, ' untyped') : l).join('\n')
    this.untyped = new Map(parsePrometheusTextFormat(flat).map((f) => [f.name, f]))
  }

  family (name: string): PromFamily {
    const f = this.families.get(name)
    if (!f) throw new Error(`no metric ${name} in the scrape`)
    return f
  }

  /** The series of `name` whose labels include `match` (a histogram's: its `_count` series). */
  series (name: string, match: Record<string, string> = {}): PromSample[] {
    const f = this.family(name)
    const samples = f.type === 'HISTOGRAM' ? this.untyped.get(`${name}_count`)?.metrics ?? [] : f.metrics
    return samples.filter((m) => Object.entries(match).every(([k, v]) => m.labels?.[k] === v))
  }

  private histogram (name: string, part: 'count' | 'sum', match: Record<string, string>): number {
    if (this.family(name).type !== 'HISTOGRAM') throw new Error(`${name} is not a histogram`)
    const samples = this.untyped.get(`${name}_${part}`)?.metrics ?? []
    return samples.filter((m) => Object.entries(match).every(([k, v]) => m.labels?.[k] === v)).reduce((n, m) => n + Number(m.value), 0)
  }

  /** Counter or gauge: the sum of the matching series (0 when none). */
  value (name: string, match: Record<string, string> = {}): number {
    return this.series(name, match).reduce((n, m) => n + Number(m.value), 0)
  }

  /** Histogram: the number of observations of the matching series. */
  count (name: string, match: Record<string, string> = {}): number {
    return this.histogram(name, 'count', match)
  }

  /** Histogram: the sum of the observations of the matching series. */
  sum (name: string, match: Record<string, string> = {}): number {
    return this.histogram(name, 'sum', match)
  }

  /** The distinct values of one label over the series of `name`. */
  labelValues (name: string, label: string): string[] {
    return [...new Set(this.series(name).map((m) => m.labels?.[label]).filter((v): v is string => v !== undefined))]
  }
}

/** Scrapes an app in-process (inject) or a URL. */
export async function scrape (target: { inject: (o: { url: string, headers?: Record<string, string> }) => Promise<{ statusCode: number, body: string }> } | string, headers: Record<string, string> = {}): Promise<Scrape> {
  if (typeof target === 'string') {
    const r = await fetch(target, { headers })
    if (r.status !== 200) throw new Error(`GET ${target}: ${r.status} ${await r.text()}`)
    return new Scrape(await r.text())
  }
  const r = await target.inject({ url: '/metrics', headers })
  if (r.statusCode !== 200) throw new Error(`GET /metrics: ${r.statusCode} ${r.body}`)
  return new Scrape(r.body)
}
