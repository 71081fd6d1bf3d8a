// A session record as the API shows it: ISO 8601 times.
import type { SessionRecord } from './types.js'

const iso = (ms: number) => new Date(ms).toISOString()

/** `userId`: the user_id as the client knows it (the record holds the owner, see types.ts). */
export function sessionView (r: SessionRecord, userId = r.user_id) {
  return {
    session_id: r.session_id,
    user_id: userId,
    // A chatflow session is bound to `chatflow:<workflow_id>` (see src/chat/service.ts).
    ...(r.bot_id.startsWith('chatflow:') ? { bot_id: null, workflow_id: r.bot_id.slice(9) } : { bot_id: r.bot_id }),
    conversation_id: r.conversation_id,
    created_at: iso(r.created_at),
    last_activity: iso(r.last_activity),
    message_count: r.message_count,
    status: r.status,
    cleared_at: r.cleared_at === null ? null : iso(r.cleared_at),
    expires_at: iso(r.expires_at)
  }
}
