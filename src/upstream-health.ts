// The last known state of the Coze upstream, for /health and /ready. Updated for free by
// real traffic (every Coze call reports here), and by a background users/me check at most
// once per interval, so a probe never waits on Coze.
import type { CozeClient } from './coze/client.js'
import { getMe } from './coze/account.js'
import { GatewayError, type ErrorCode } from './errors.js'

export type UpstreamState = 'unknown' | 'up' | 'down'

export class UpstreamHealth {
  state: UpstreamState = 'unknown'
  lastChecked: Date | undefined
  lastError: string | undefined
  /** The code of the failure that marked it down. */
  lastCode: ErrorCode | undefined
  private checking = false

  constructor (private readonly coze: CozeClient, private readonly intervalMs: number) {}

  /** Record the outcome of a call. Only failures that say the upstream is unusable mark it down. */
  report (err?: GatewayError): void {
    if (!err) {
      this.state = 'up'
      this.lastError = undefined
      this.lastCode = undefined
    } else if (err.code === 'UPSTREAM_UNAVAILABLE' || err.code === 'UPSTREAM_AUTH' || err.code === 'UPSTREAM_AUTH_UNAVAILABLE') {
      this.state = 'down'
      this.lastError = err.message
      this.lastCode = err.code
    }
    this.lastChecked = new Date()
  }

  /** Coze refused the gateway's token on the last call that told (/ready answers 503). */
  get tokenRefused (): boolean {
    return this.state === 'down' && this.lastCode === 'UPSTREAM_AUTH'
  }

  /** Starts a background check if the last one is older than the interval. Never awaited by probes. */
  refreshIfStale (): void {
    if (this.checking) return
    if (this.lastChecked && Date.now() - this.lastChecked.getTime() < this.intervalMs) return
    this.checking = true
    // After the probe's answer is written: building the SDK's request takes CPU too (on the
    // first call of a process, tens of milliseconds of first-time code).
    setImmediate(() => {
      getMe(this.coze)
        .then(() => this.report(), (err: unknown) => this.report(err as GatewayError))
        .finally(() => { this.checking = false })
    })
  }

  snapshot () {
    return {
      state: this.state,
      last_checked: this.lastChecked?.toISOString() ?? null,
      ...(this.lastError ? { last_error: this.lastError } : {})
    }
  }
}
