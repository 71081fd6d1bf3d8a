// The sessions sidebar: GET /api/v1/sessions?user_id=…, open (history), new, clear, delete.
// The current session id is kept in localStorage, so a reload continues it.
import { h } from './dom.js'
import { query } from './api.js'
import { settings, titles, randomId } from './store.js'

/**
 * ctx: { api, els: { list, empty, newButton }, userId(), botId(), setBotId(id),
 *        chat: { reset, showHistory, markCleared, notify, stop } }
 */
export function createSessions (ctx) {
  const { api, els } = ctx
  // { id, botId }: the session the composer talks to; botId is null until known.
  let current = null
  let lastList = []

  function setCurrent (id, botId) {
    current = id ? { id, botId: botId || null } : null
    settings.set('session_id', id || '')
    render()
  }

  /** The session the next chat goes to: the current one, or a new id (the gateway creates it on first use). */
  function ensure (botId) {
    if (!current) setCurrent(randomId('pg_'), botId)
    if (!current.botId) current.botId = botId
    return current.id
  }

  function render () {
    const items = lastList.map((s) => {
      const title = titles.get(s.session_id) || (s.message_count === 0 && !s.cleared_at ? 'New session' : s.session_id)
      const main = h('button', { type: 'button', class: 'session-open', title: s.session_id },
        h('span', { class: 'session-title' }, title),
        h('span', { class: 'session-meta' }, `${s.bot_id} · ${s.message_count} turn${s.message_count === 1 ? '' : 's'}`))
      const clear = h('button', { type: 'button', class: 'icon', title: 'Clear: the bot forgets earlier turns', 'aria-label': `clear ${title}`, dataset: { action: 'clear' } }, '⌫')
      const del = h('button', { type: 'button', class: 'icon', title: 'Delete the session', 'aria-label': `delete ${title}`, dataset: { action: 'delete' } }, '×')
      const li = h('li', { class: 'session', dataset: { sessionId: s.session_id }, 'aria-current': current?.id === s.session_id ? 'true' : null }, main, clear, del)
      // The whole row opens the session; its two small buttons clear or delete it.
      li.addEventListener('click', (e) => {
        const action = e.target.closest('[data-action]')?.dataset.action
        if (action === 'clear') void clearSession(s.session_id)
        else if (action === 'delete') void deleteSession(s.session_id)
        else void open(s.session_id)
      })
      return li
    })
    els.list.replaceChildren(...items)
    els.empty.hidden = items.length > 0
  }

  async function refresh () {
    const userId = ctx.userId()
    if (!userId) { lastList = []; render(); return }
    try {
      const r = await api.get(`/api/v1/sessions${query({ user_id: userId, page_size: 50 })}`)
      lastList = r.data
      if (current && !current.botId) current.botId = lastList.find((s) => s.session_id === current.id)?.bot_id ?? null
      render()
    } catch (err) {
      ctx.chat.notify(err)
    }
  }

  /** Opens a session: its bot, then its conversation's history. */
  async function open (id) {
    ctx.chat.reset()
    const userId = ctx.userId()
    let session
    try {
      session = (await api.get(`/api/v1/sessions/${encodeURIComponent(id)}${query({ user_id: userId })}`)).data
    } catch (err) {
      if (err.status === 404) { setCurrent(null); titles.remove(id); await refresh(); return }
      ctx.chat.notify(err)
      return
    }
    setCurrent(session.session_id, session.bot_id)
    ctx.setBotId(session.bot_id)
    if (!session.conversation_id) return
    try {
      const messages = []
      let after
      for (let page = 0; page < 10; page++) {
        const r = await api.get(`/api/v1/conversations/${encodeURIComponent(session.conversation_id)}/messages${query({ user_id: userId, order: 'asc', limit: 50, after_id: after })}`)
        messages.push(...r.data)
        if (!r.has_more || !r.last_id) break
        after = r.last_id
      }
      if (current?.id === session.session_id) ctx.chat.showHistory(messages)
    } catch (err) {
      ctx.chat.notify(err)
    }
  }

  /** New: a session created on the gateway now (so it is listed), for the bot in the picker. */
  async function startNew () {
    ctx.chat.reset()
    const userId = ctx.userId()
    const botId = ctx.botId()
    try {
      const r = await api.post('/api/v1/sessions', { user_id: userId || undefined, bot_id: botId || undefined })
      setCurrent(r.session_id, r.data.bot_id)
      await refresh()
    } catch (err) {
      // Still usable: the first chat creates the session.
      setCurrent(randomId('pg_'), botId)
      ctx.chat.notify(err)
    }
  }

  async function clearSession (id) {
    try {
      await api.post(`/api/v1/sessions/${encodeURIComponent(id)}/clear${query({ user_id: ctx.userId() })}`, {})
      if (current?.id === id) ctx.chat.markCleared()
      await refresh()
    } catch (err) {
      ctx.chat.notify(err)
    }
  }

  async function deleteSession (id) {
    try {
      await api.del(`/api/v1/sessions/${encodeURIComponent(id)}${query({ user_id: ctx.userId() })}`)
      titles.remove(id)
      if (current?.id === id) { ctx.chat.reset(); setCurrent(null) }
      await refresh()
    } catch (err) {
      ctx.chat.notify(err)
    }
  }

  /** A chat on session id finished (chat_completed or tool_calls): list it, title it. */
  function completed (id, _frame, question) {
    if (question && !titles.get(id)) titles.set(id, question)
    void refresh()
  }

  /** The picker now names another bot: a session keeps its bot, so the next chat starts a new one. */
  function botChanged (botId) {
    if (current && current.botId && botId && current.botId !== botId) {
      ctx.chat.reset()
      setCurrent(null)
    }
  }

  els.newButton.addEventListener('click', () => { void startNew() })

  return {
    ensure, refresh, open, startNew, completed, botChanged,
    get current () { return current },
    forget () { setCurrent(null) }
  }
}
