// parse-prometheus-text-format ships no types: the shape of its output (prom2json's).
declare module 'parse-prometheus-text-format' {
  export interface PromSample {
    labels?: Record<string, string>
    /** counters, gauges, untyped */
    value?: string
    /** histograms: upper bound (le) → cumulative count */
    buckets?: Record<string, string>
    count?: string
    sum?: string
  }
  export interface PromFamily {
    name: string
    help: string
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
    metrics: PromSample[]
  }
  export default function parsePrometheusTextFormat (text: string): PromFamily[]
}
