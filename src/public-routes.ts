// The routes that are open to everyone and cheap: probes, the status page and the docs.
// They stay outside the rate limiter, so load-balancer probes never get a 429 from
// sharing a bucket with users behind the same proxy.

/** Probes: a successful answer is logged at debug, not info. */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/health', '/ready', '/metrics'])

const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/', '/health', '/ready', '/metrics', '/docs'])

/** True for `/`, `/health`, `/ready`, `/metrics`, `/docs` and everything under `/docs/` (a route url, not a request url). */
export function isPublicRoute (url: string): boolean {
  return PUBLIC_PATHS.has(url) || url.startsWith('/docs/')
}
