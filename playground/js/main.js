// The playground page: wires the settings, the chat, the sessions, the workflow panel
// and the raw view together. It only ever calls the gateway's public API, same origin.
import { $, h } from './dom.js'
import { createApi, query } from './api.js'
import { settings, apiKey, randomId } from './store.js'
import { createRawView } from './raw.js'
import { createChat } from './chat.js'
import { createSessions } from './sessions.js'
import { createWorkflow, parseParameters } from './workflow.js'

const els = {
  mode: $('#mode'),
  botId: $('#bot-id'),
  botOptions: $('#bot-options'),
  botInfo: $('#bot-info'),
  userId: $('#user-id'),
  apiKey: $('#api-key'),
  keyHint: $('#key-hint'),
  upstream: $('#upstream'),
  workflowOptions: $('#workflow-options'),
  intro: $('#intro')
}

const state = {
  /** The gateway wants a key: it said so in /api/v1/config, or answered 401. */
  keyRequired: false,
  bots: []
}

const KEY_HINT = els.keyHint.textContent

function requireKey (err) {
  state.keyRequired = true
  els.apiKey.classList.add('required')
  els.apiKey.setAttribute('aria-invalid', apiKey.get() ? 'true' : 'false')
  els.keyHint.textContent = apiKey.get()
    ? `The gateway refused this key (${err?.code || 'UNAUTHORIZED'}): check it. ${KEY_HINT}`
    : `This gateway requires an API key. ${KEY_HINT}`
}

/** /api/v1/config → does the gateway check API keys? (Several spellings, until that API is settled.) */
function keysOn (config) {
  const auth = config.auth ?? config.api_keys ?? {}
  return auth === true || auth.required === true || auth.enabled === true ||
    (typeof auth.mode === 'string' && !['none', 'off', 'disabled', 'open'].includes(auth.mode)) ||
    config.features?.api_keys === true || config.features?.auth === true
}

const api = createApi({ getKey: () => apiKey.get(), onUnauthorized: requireKey })

const raw = createRawView({ toggle: $('#raw-toggle'), panel: $('#raw'), withKey: () => Boolean(apiKey.get()) })

/** Say no before calling the gateway when it is sure to answer 401. */
function refuse () {
  if (state.keyRequired && !apiKey.get()) {
    els.apiKey.focus()
    return { code: 'API_KEY_REQUIRED', status: 401, message: 'This gateway requires an API key: enter it in the "Gateway API key" field, then send again.' }
  }
  return null
}

let markReady
const ready = new Promise((resolve) => { markReady = resolve })

const chatContext = {
  api, raw, ready, refuse,
  els: {
    messages: $('#messages'), intro: els.intro, notices: $('#notices'), form: $('#composer-form'), composer: $('#composer'),
    send: $('#send'), stop: $('#stop'), attach: $('#attach'), attachments: $('#attachments')
  },
  settings: () => ({
    mode: els.mode.value,
    botId: els.botId.value.trim(),
    userId: els.userId.value.trim(),
    workflowId: $('#workflow-id').value.trim(),
    parameters: parseParameters($('#workflow-params').value).value
  }),
  onUnauthorized: requireKey,
  sessions: null // below: the sessions need the chat, and the chat its sessions
}
const chat = createChat(chatContext)

const sessions = createSessions({
  api, chat,
  els: { list: $('#session-list'), empty: $('#sessions-empty'), newButton: $('#new-session') },
  userId: () => els.userId.value.trim(),
  botId: () => els.botId.value.trim(),
  setBotId: (id) => { if (id && els.botId.value.trim() !== id) { els.botId.value = id; settings.set('bot_id', id); showBot() } }
})
chatContext.sessions = sessions

const workflow = createWorkflow({
  api, raw, refuse,
  els: { id: $('#workflow-id'), params: $('#workflow-params'), run: $('#workflow-run'), stop: $('#workflow-stop'), output: $('#workflow-output') }
})

// ---- the bot picker ---------------------------------------------------------

async function loadBots () {
  try {
    const workspaces = (await api.get(`/api/v1/workspaces${query({ page_size: 10 })}`)).data
    const seen = new Map()
    for (const ws of workspaces.slice(0, 5)) {
      const bots = (await api.get(`/api/v1/bots${query({ workspace_id: ws.id, page_size: 50 })}`)).data
      for (const b of bots) if (!seen.has(b.bot_id)) seen.set(b.bot_id, b)
    }
    state.bots = [...seen.values()]
    els.botOptions.replaceChildren(...state.bots.map((b) => h('option', { value: b.bot_id }, b.name)))
    showBot()
  } catch (err) {
    els.botInfo.textContent = `Could not list the bots (${err.code}): type a bot id.`
  }
}

/** The picked bot's name, description, prologue and suggested questions. */
function showBot () {
  const bot = state.bots.find((b) => b.bot_id === els.botId.value.trim())
  els.botInfo.textContent = bot ? `${bot.name}: ${bot.description}` : ''
  const questions = bot?.suggested_questions ?? []
  els.intro.replaceChildren(
    h('p', { class: 'prologue' }, bot?.prologue || 'Send a message to start. Answers stream in as the bot writes them.'),
    questions.length ? h('div', { class: 'follow-ups' }, questions.map((q) => h('button', { type: 'button', class: 'secondary small', onclick: () => chat.send(q) }, q))) : null
  )
}

// ---- settings ------------------------------------------------------------------

els.userId.value = settings.get('user_id') || randomId('user_')
settings.set('user_id', els.userId.value)
els.botId.value = settings.get('bot_id')
els.mode.value = settings.get('mode') || 'bot'
els.apiKey.value = apiKey.get()
$('#workflow-id').value = settings.get('workflow_id')

els.botId.addEventListener('input', showBot)
els.botId.addEventListener('change', () => {
  const id = els.botId.value.trim()
  settings.set('bot_id', id)
  sessions.botChanged(id)
})
els.userId.addEventListener('change', () => {
  settings.set('user_id', els.userId.value.trim())
  chat.reset()
  sessions.forget()
  void sessions.refresh()
})
els.mode.addEventListener('change', () => {
  settings.set('mode', els.mode.value)
  document.body.dataset.mode = els.mode.value
  chat.reset()
})
document.body.dataset.mode = els.mode.value
$('#workflow-id').addEventListener('change', (e) => settings.set('workflow_id', e.target.value.trim()))
els.apiKey.addEventListener('input', () => { apiKey.set(els.apiKey.value.trim()) })
els.apiKey.addEventListener('change', () => {
  apiKey.set(els.apiKey.value.trim())
  els.apiKey.removeAttribute('aria-invalid')
  // A new key may open what a 401 closed: load again.
  void start()
})

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && (chat.running || workflow.running)) { e.preventDefault(); chat.stop(); workflow.stop() }
})

// ---- start ----------------------------------------------------------------------

async function start () {
  try {
    const config = (await api.get('/api/v1/config')).data
    if (keysOn(config)) requireKey()
    if (config.upstream_mode === 'emulator') {
      els.upstream.hidden = false
      els.upstream.textContent = 'demo: built-in Coze emulator'
      els.workflowOptions.replaceChildren(...['wf-echo', 'wf-text', 'wf-interrupt'].map((id) => h('option', { value: id })))
    }
    if (!els.botId.value && config.default_bot_id) els.botId.value = config.default_bot_id
  } catch (err) {
    if (err.status !== 401) chat.notify(err)
  }
  showBot()
  const refusal = refuse()
  if (refusal) {
    chat.notify(refusal)
  } else {
    void loadBots()
    await sessions.refresh()
    const saved = settings.get('session_id')
    if (saved && !sessions.current) await sessions.open(saved)
  }
  markReady()
  document.body.dataset.ready = 'true'
}

void start()
