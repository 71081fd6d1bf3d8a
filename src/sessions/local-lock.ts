// In-process FIFO lock per key (memory and sqlite stores; also the first stage of the
// Redis lock). A waiter joins the queue synchronously when acquire() is called, so
// requests are served in the order they asked.
import type { ChatLock, LockOptions, Release } from './types.js'
import { ClientAbortError, errors } from '../errors.js'

interface Waiter {
  grant: () => void
  settled: boolean
}

export class LocalLock implements ChatLock {
  /** key → waiters behind the current holder (the key is present while held). */
  private readonly queues = new Map<string, Waiter[]>()

  acquire (key: string, opts: LockOptions): Promise<Release> {
    if (opts.signal?.aborted) return Promise.reject(new ClientAbortError())
    const release = this.releaser(key)
    const queue = this.queues.get(key)
    if (!queue) {
      this.queues.set(key, [])
      return Promise.resolve(release)
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        settled: false,
        grant: () => { done(); resolve(release) }
      }
      const onAbort = () => { if (leave()) reject(new ClientAbortError()) }
      const timer = setTimeout(() => { if (leave()) reject(errors.conversationBusy(opts.timeoutMs)) }, opts.timeoutMs)
      const done = () => {
        waiter.settled = true
        clearTimeout(timer)
        opts.signal?.removeEventListener('abort', onAbort)
      }
      const leave = (): boolean => {
        if (waiter.settled) return false
        done()
        const q = this.queues.get(key)
        const i = q ? q.indexOf(waiter) : -1
        if (q && i >= 0) q.splice(i, 1)
        return true
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true })
      queue.push(waiter)
    })
  }

  /** Keys currently held (diagnostics and tests). */
  get size (): number { return this.queues.size }

  async close (): Promise<void> {}

  private releaser (key: string): Release {
    let released = false
    return async () => {
      if (released) return
      released = true
      const queue = this.queues.get(key)
      const next = queue?.shift()
      if (next) next.grant()
      else this.queues.delete(key)
    }
  }
}
