// The Grafana dashboard in deploy/grafana/: the panels the operator needs, each built only
// on metrics the gateway really exposes, with the right type for how it is queried.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, userMsg, type Stack } from '../helpers/stack.js'
import { scrape, type Scrape } from '../helpers/prometheus.js'

interface Panel { title: string, targets: Array<{ expr: string }>, datasource: { uid: string } }
const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/coze-gateway.json', import.meta.url), 'utf8')) as { panels: Panel[], templating: { list: Array<{ name: string }> } }

describe('deploy/grafana/coze-gateway.json', () => {
  let s: Stack
  let m: Scrape
  beforeAll(async () => {
    s = await startStack()
    await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u1', stream: true, messages: [userMsg('hi')] } })
    m = await scrape(s.app)
  })
  afterAll(async () => { await s.close() })

  it('has the panels of the issue: requests by status, P50/P99 time to first delta, open streams, tokens per bot and per key, upstream errors by Coze code, overhead', () => {
    const titles = dashboard.panels.map((p) => p.title.toLowerCase())
    for (const want of ['requests by status', 'time to first delta, p50 / p99', 'open streams', 'tokens per bot', 'tokens per key', 'upstream errors by coze code', 'overhead']) {
      expect(titles.some((t) => t.includes(want)), want).toBe(true)
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'instance'])
    for (const p of dashboard.panels) expect(p.datasource.uid).toBe('${datasource}')
  })

  it('queries only metrics the gateway exposes, histograms through their buckets and counters through rate()', () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))
    expect(exprs.length).toBeGreaterThanOrEqual(7)
    for (const expr of exprs) {
      for (const [name] of expr.matchAll(/coze_gateway_[a-z_]+/g)) {
        const family = name.endsWith('_bucket') ? name.slice(0, -'_bucket'.length) : name
        const type = m.family(family).type
        if (name.endsWith('_bucket')) {
          expect(type, name).toBe('HISTOGRAM')
          expect(expr).toMatch(/histogram_quantile\(/)
        } else if (type === 'COUNTER') {
          expect(expr, name).toMatch(new RegExp(`rate\\(${name}\\{`))
        } else {
          expect(type, name).toBe('GAUGE')
        }
      }
    }
    // the instance variable comes from a series every gateway has
    expect(m.series('coze_gateway_build_info')).toHaveLength(1)
  })
})
