// The bookkeeping of one chat turn as it passes through the service: its ids reported at
// once, its terminal event stamped with the turn (and the timing of its first delta), its
// outcome counted once (coze_gateway_chats_total and _tokens_total) and noted on the
// request's observation for the log line. A chat Coze never created is not a chat here:
// its failure is counted as an HTTP answer and an upstream call, not as a chat.
import type { ChatEvent as UpstreamEvent, Usage } from '../coze/chat.js'
import { ClientAbortError } from '../errors.js'
import type { ChatStatus, Metrics } from '../metrics/metrics.js'
import type { ChatContext, ChatEvent, Turn } from './types.js'

export class ChatWatch {
  /** the bot (or chatflow) id, once Coze created the chat */
  private bot: string | undefined
  private created = false
  private settled = false

  constructor (private readonly metrics: Metrics | undefined, private readonly ctx: ChatContext) {}

  /** An upstream event as the service yields it. */
  emit (ev: UpstreamEvent, turn: Turn): ChatEvent {
    switch (ev.type) {
      case 'chat_created': {
        const ids = { conversation_id: ev.conversation_id, chat_id: ev.chat_id }
        this.ctx.onChat?.(ids)
        this.created = true
        this.bot = turn.workflow_id ?? turn.bot_id ?? ev.bot_id
        if (this.ctx.observation) this.ctx.observation.chat = { bot: turn.bot_id ?? ev.bot_id, workflow_id: turn.workflow_id, ...ids }
        return ev
      }
      case 'chat_completed':
        this.settle('completed', ev, ev.usage)
        return { ...ev, turn, ...(this.ctx.observation ? { timing: this.ctx.observation.chatTiming() } : {}) }
      case 'tool_calls':
        this.settle('requires_action', ev, ev.usage)
        return { ...ev, turn }
      default:
        return ev
    }
  }

  /**
   * Passes the chat's events through; a chat that ends without its terminal event is counted
   * failed or canceled. An iterator over `events`, not a generator: one promise per event.
   */
  watch (events: AsyncGenerator<ChatEvent>): AsyncIterableIterator<ChatEvent> {
    const passed = (r: IteratorResult<ChatEvent>) => {
      if (r.done) this.unsettled('canceled')
      return r
    }
    const failed = (err: unknown): never => {
      this.unsettled(err instanceof ClientAbortError ? 'canceled' : 'failed')
      throw err
    }
    return {
      [Symbol.asyncIterator] () { return this },
      next: () => events.next().then(passed, failed),
      return: async () => {
        try {
          return await events.return(undefined)
        } finally {
          // the consumer stopped reading: its client left
          this.unsettled('canceled')
        }
      }
    }
  }

  private settle (status: ChatStatus, ids: { conversation_id: string, chat_id: string }, usage: Usage): void {
    if (this.settled) return
    this.settled = true
    this.metrics?.chat(this.metrics.botLabel(this.bot), this.ctx.principal?.id, status, usage)
    const obs = this.ctx.observation
    if (obs) obs.chat = { ...obs.chat, conversation_id: ids.conversation_id, chat_id: ids.chat_id, usage }
  }

  private unsettled (status: 'failed' | 'canceled'): void {
    if (this.settled || !this.created) return
    this.settled = true
    this.metrics?.chat(this.metrics.botLabel(this.bot), this.ctx.principal?.id, status)
  }
}
