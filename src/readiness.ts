// GET /ready's answer: may this instance take traffic? Not while it starts or shuts down,
// not while its session store is unreachable, and not after Coze refused its token. The
// store check is shared by concurrent probes and kept for a moment, so a flood of probes
// is one store round trip.
import type { CredentialSnapshot } from './coze/credentials.js'
import type { UpstreamHealth } from './upstream-health.js'

export type Lifecycle = 'starting' | 'running' | 'stopping'

export interface ReadinessReport {
  ready: boolean
  /** why not, or "ready" */
  message: string
  checks: {
    lifecycle: Lifecycle
    session_store: 'ok' | 'unreachable'
    /** unknown: no call has told yet */
    coze_token: 'ok' | 'refused' | 'unknown'
  }
}

const STORE_TIMEOUT_MS = 2000
const CACHE_MS = 500

export class Readiness {
  lifecycle: Lifecycle = 'starting'
  private pending: Promise<string | undefined> | undefined
  private last: { at: number, error: string | undefined } | undefined

  constructor (
    private readonly store: { kind: string, ping (): Promise<void> },
    private readonly upstream: UpstreamHealth,
    private readonly credentials: () => CredentialSnapshot[]
  ) {}

  /** Every credential disabled by Coze's refusals; one credential: also its last call refused. */
  private tokenRefused (): boolean {
    const creds = this.credentials()
    return (creds.length > 0 && creds.every((c) => c.state === 'disabled')) || (creds.length <= 1 && this.upstream.tokenRefused)
  }

  async check (): Promise<ReadinessReport> {
    const storeError = await this.storeError()
    const token = this.tokenRefused() ? 'refused' : this.upstream.state === 'unknown' ? 'unknown' : 'ok'
    const why: string[] = []
    if (this.lifecycle !== 'running') why.push(this.lifecycle === 'starting' ? 'the gateway is starting' : 'the gateway is shutting down')
    if (storeError) why.push(`the ${this.store.kind} session store is unreachable: ${storeError}`)
    if (token === 'refused') why.push('Coze refused the gateway\'s credentials (COZE_API_TOKEN, COZE_API_TOKENS or the OAuth app)')
    return {
      ready: why.length === 0,
      message: why.length === 0 ? 'ready' : `Not ready: ${why.join('; ')}.`,
      checks: { lifecycle: this.lifecycle, session_store: storeError ? 'unreachable' : 'ok', coze_token: token }
    }
  }

  private storeError (): Promise<string | undefined> {
    if (this.last && Date.now() - this.last.at < CACHE_MS) return Promise.resolve(this.last.error)
    this.pending ??= withTimeout(this.store.ping(), STORE_TIMEOUT_MS)
      .then(() => undefined, (err: unknown) => (err instanceof Error ? err.message : String(err)) || 'no answer')
      .then((error) => {
        this.last = { at: Date.now(), error }
        this.pending = undefined
        return error
      })
    return this.pending
  }
}

function withTimeout (p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms) })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}
