// What the page remembers. Settings and the current session survive a reload
// (localStorage); the gateway API key lives in this tab only (sessionStorage).

const PREFIX = 'coze-gw-playground.'

function read (storage, key) {
  try { return storage.getItem(PREFIX + key) ?? '' } catch { return '' }
}

function write (storage, key, value) {
  try {
    if (value) storage.setItem(PREFIX + key, value)
    else storage.removeItem(PREFIX + key)
  } catch { /* storage disabled: the page still works, it just forgets */ }
}

/** user_id, bot_id, session_id, mode, workflow_id */
export const settings = {
  get: (key) => read(localStorage, key),
  set: (key, value) => write(localStorage, key, value)
}

/** Never localStorage: the key must not outlive the tab. */
export const apiKey = {
  get: () => read(sessionStorage, 'api_key'),
  set: (value) => write(sessionStorage, 'api_key', value)
}

/** The first question of each session, as its title in the sidebar. */
export const titles = {
  get (sessionId) {
    try { return JSON.parse(read(localStorage, 'titles') || '{}')[sessionId] ?? '' } catch { return '' }
  },
  set (sessionId, title) {
    let all = {}
    try { all = JSON.parse(read(localStorage, 'titles') || '{}') } catch { /* start over */ }
    all[sessionId] = title.slice(0, 80)
    const keys = Object.keys(all)
    for (const k of keys.slice(0, Math.max(0, keys.length - 200))) delete all[k]
    write(localStorage, 'titles', JSON.stringify(all))
  },
  remove (sessionId) {
    try {
      const all = JSON.parse(read(localStorage, 'titles') || '{}')
      delete all[sessionId]
      write(localStorage, 'titles', JSON.stringify(all))
    } catch { /* nothing to forget */ }
  }
}

export function randomId (prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(6))
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
