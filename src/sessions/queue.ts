// The per-session and per-conversation chat queue: one chat at a time on each, served in
// order, with one deadline (CHAT_QUEUE_TIMEOUT_MS) for everything a chat waits on.
import { errors, GatewayError } from '../errors.js'
import type { ChatLock, Release } from './types.js'

export class ChatQueue {
  /** `onWait`: how long each acquisition waited (ms), whether it got the lock or not. */
  constructor (private readonly lock: ChatLock, readonly timeoutMs: number, private readonly onWait?: ((ms: number) => void) | undefined) {}

  /** The deadline of a chat that starts queueing now. */
  deadline (): number { return Date.now() + this.timeoutMs }

  session (sessionId: string, deadline: number, signal?: AbortSignal): Promise<Release> {
    return this.acquire(`session:${sessionId}`, deadline, signal)
  }

  conversation (conversationId: string, deadline: number, signal?: AbortSignal): Promise<Release> {
    return this.acquire(`conversation:${conversationId}`, deadline, signal)
  }

  close (): Promise<void> { return this.lock.close() }

  private async acquire (key: string, deadline: number, signal: AbortSignal | undefined): Promise<Release> {
    const t0 = this.onWait && performance.now()
    try {
      return await this.lock.acquire(key, { timeoutMs: Math.max(1, deadline - Date.now()), signal })
    } catch (err) {
      // The wait is bounded by what was left of the deadline; the client is told the setting.
      if (err instanceof GatewayError && err.code === 'CONVERSATION_BUSY') throw errors.conversationBusy(this.timeoutMs)
      throw err
    } finally {
      if (t0 !== undefined) this.onWait!(performance.now() - t0)
    }
  }
}

/** Releases in reverse order of acquisition. */
export async function releaseAll (releases: Release[]): Promise<void> {
  for (const release of releases.reverse()) await release()
}
