// The chat: composer, attachments, one streamed answer at a time, Stop, tool outputs.
import { h, errorBox } from './dom.js'
import { answerBubble, userBubble, historyAnswer, divider } from './bubbles.js'
import { uploadFile } from './upload.js'

/**
 * ctx: {
 *   api, raw, els,
 *   settings(): { mode, botId, userId, workflowId, parameters },
 *   refuse(): an error to show instead of calling the gateway (e.g. a key is required), or null,
 *   sessions: { ensure(botId), completed(sessionId, frame, title) } (set by main.js),
 *   onUnauthorized(err)
 * }
 */
export function createChat (ctx) {
  const { api, raw, els } = ctx
  let running = null // { controller, bubble }
  let pendingTools = null // { conversationId, chatId, form }
  let attachments = [] // { file, kind, status: uploading|done|failed, fileId, chip, abort }
  let chatflowConversation = null

  const scroll = () => { els.messages.scrollTop = els.messages.scrollHeight }
  const add = (node) => { els.intro.hidden = true; els.messages.append(node); scroll() }

  function notify (err) {
    els.notices.replaceChildren(errorBox(err))
  }

  function setRunning (on) {
    els.stop.disabled = !on
    els.send.disabled = on
    document.body.classList.toggle('busy', on)
  }

  // ---- attachments -------------------------------------------------------------

  function renderAttachments () {
    els.attachments.replaceChildren(...attachments.map((a) => a.chip))
    els.attachments.hidden = attachments.length === 0
  }

  function attach (file) {
    const kind = file.type.startsWith('image/') ? 'image' : 'file'
    const progress = h('progress', { max: 1, value: 0, 'aria-label': `upload of ${file.name}` })
    const state = h('span', { class: 'muted' }, 'uploading…')
    const a = { file, kind, status: 'uploading', fileId: null }
    const remove = h('button', { type: 'button', class: 'icon', 'aria-label': `remove ${file.name}`, onclick: () => { a.abort?.(); attachments = attachments.filter((x) => x !== a); renderAttachments() } }, '×')
    a.chip = h('div', { class: 'chip attachment', dataset: { status: 'uploading' } }, `${kind}: ${file.name} `, progress, state, remove)
    attachments.push(a)
    renderAttachments()
    const rec = raw.start({ method: 'POST', path: '/api/v1/upload', file: file.name })
    const up = uploadFile(file, { headers: api.headers(), onProgress: (f) => { progress.value = f }, onUnauthorized: ctx.onUnauthorized })
    a.abort = up.abort
    up.promise.then((data) => {
      a.status = 'done'
      a.fileId = data.file_id
      a.chip.dataset.status = 'done'
      a.chip.dataset.fileId = data.file_id
      state.textContent = `uploaded (${data.file_id})`
      rec.note(`uploaded: ${JSON.stringify(data)}`)
    }, (err) => {
      if (err.name === 'AbortError') return
      a.status = 'failed'
      a.chip.dataset.status = 'failed'
      state.textContent = 'failed'
      rec.note(`failed: ${err.code} ${err.message}`)
      notify(err)
    })
  }

  els.attach.addEventListener('change', () => {
    for (const file of els.attach.files) attach(file)
    els.attach.value = ''
  })

  // ---- sending ---------------------------------------------------------------

  async function send (textOverride) {
    await ctx.ready // the stored session's history first, so it cannot land under a new answer
    if (running) return
    const text = (textOverride ?? els.composer.value).trim()
    if (pendingTools && !text && textOverride === undefined) {
      // Send with an empty composer while the bot waits on a tool: submit its output.
      if (pendingTools.form.boxes.every((b) => b.value.trim())) pendingTools.form.submit()
      else pendingTools.form.boxes.find((b) => !b.value.trim())?.focus()
      return
    }
    if (attachments.some((a) => a.status === 'uploading')) { notify({ code: 'UPLOAD_IN_PROGRESS', message: 'Wait for the upload to finish, then send.' }); return }
    const files = textOverride === undefined ? attachments.filter((a) => a.status === 'done') : []
    if (!text && files.length === 0) { els.composer.focus(); return }
    const refusal = ctx.refuse()
    if (refusal) { notify(refusal); return }

    const s = ctx.settings()
    if (!s.userId) { notify({ code: 'USER_ID_REQUIRED', message: 'Enter a user id: Coze needs the id of the end user.' }); return }
    // Coze's multimodal message: one text part plus file/image parts (the gateway checks the rules).
    const content = files.length
      ? [...(text ? [{ type: 'text', text }] : []), ...files.map((f) => ({ type: f.kind, file_id: f.fileId }))]
      : text
    const shown = files.length
      ? [...(text ? [{ type: 'text', text }] : []), ...files.map((f) => ({ type: f.kind, file_id: f.fileId, name: f.file.name }))]
      : text

    let path
    let body
    let sessionId
    if (s.mode === 'chatflow') {
      if (!s.workflowId) { notify({ code: 'WORKFLOW_ID_REQUIRED', message: 'Chatflow mode chats through the workflow id of the Workflow panel: enter one.' }); return }
      path = `/api/v1/workflows/${encodeURIComponent(s.workflowId)}/chat`
      body = { user_id: s.userId, messages: [{ role: 'user', content }], stream: true }
      if (chatflowConversation) body.conversation_id = chatflowConversation
      if (s.parameters && Object.keys(s.parameters).length) body.parameters = s.parameters
    } else {
      sessionId = ctx.sessions.ensure(s.botId)
      path = '/api/v1/chat'
      body = { user_id: s.userId, messages: [{ role: 'user', content }], session_id: sessionId, stream: true }
      if (s.botId) body.bot_id = s.botId
    }

    els.notices.replaceChildren()
    add(userBubble(shown))
    if (textOverride === undefined) {
      els.composer.value = ''
      attachments = []
      renderAttachments()
    }
    await run(path, body, {
      onCompleted: (frame) => {
        if (s.mode === 'chatflow') chatflowConversation = frame.conversation_id || chatflowConversation
        else ctx.sessions.completed(sessionId, frame, text || files.map((f) => f.file.name).join(', '))
      }
    })
  }

  /** Streams one answer into a new bubble. */
  async function run (path, body, { onCompleted } = {}) {
    const bubble = answerBubble({
      onFollowUp: (q) => send(q),
      onToolSubmit: (outputs) => submitToolOutputs(outputs)
    })
    add(bubble.el)
    const controller = new AbortController()
    running = { controller, bubble }
    setRunning(true)
    const rec = raw.start({ method: 'POST', path, json: body })
    const t0 = performance.now()
    let firstDelta
    let completed = false
    let waiting = false
    let failed = false
    try {
      const { ended, rest } = await api.stream(path, body, {
        signal: controller.signal,
        onOpen: (res) => {
          rec.response(res)
          bubble.setLogid(res.headers.get('x-coze-logid'))
          bubble.setServerTiming(res.headers.get('server-timing'))
        },
        onBlock: (b) => rec.block(b),
        onFrame: (frame) => {
          switch (frame.type) {
            case 'message_delta':
              firstDelta ??= performance.now() - t0
              bubble.appendText(frame.content ?? '')
              scroll()
              break
            case 'reasoning_delta':
              firstDelta ??= performance.now() - t0
              bubble.appendReasoning(frame.content ?? '')
              scroll()
              break
            case 'follow_up':
              bubble.addFollowUp(frame.content)
              break
            case 'tool_calls': {
              waiting = true
              const form = bubble.showToolCalls(frame)
              pendingTools = { conversationId: frame.conversation_id, chatId: frame.chat_id, form, userId: body.user_id, onCompleted }
              onCompleted?.(frame)
              break
            }
            case 'chat_completed':
              completed = true
              bubble.complete(frame)
              onCompleted?.(frame)
              break
            case 'error':
              failed = true
              bubble.showError({ code: frame.code, message: frame.message, status: frame.status, logid: frame.logid, cozeCode: frame.coze_code })
              break
            default:
              break // `end`, and frames this page does not know: in the raw view only
          }
        }
      })
      if (!completed && !waiting) {
        bubble.markIncomplete(failed
          ? 'the stream ended with the error above, before chat_completed.'
          : ended ? 'the stream ended without chat_completed.' : `the connection closed before the end frame${rest ? ' (in the middle of a frame)' : ''}.`)
      }
    } catch (err) {
      if (err.name === 'AbortError') bubble.markStopped()
      else bubble.showError(err)
    } finally {
      bubble.finish({ firstDelta, total: performance.now() - t0 })
      running = null
      setRunning(false)
      scroll()
      if (!pendingTools) els.composer.focus()
    }
  }

  async function submitToolOutputs (outputs) {
    if (running || !pendingTools) return
    const p = pendingTools
    pendingTools = null
    p.form.settle()
    await run('/api/v1/chat/tool-outputs', {
      conversation_id: p.conversationId, chat_id: p.chatId, user_id: p.userId, tool_outputs: outputs, stream: true
    }, { onCompleted: p.onCompleted })
  }

  function stop () {
    running?.controller.abort()
  }

  /** Empties the view (new or other session). */
  function reset () {
    stop()
    pendingTools = null
    chatflowConversation = null
    for (const el of els.messages.querySelectorAll('.msg, .divider')) el.remove()
    els.intro.hidden = false
    els.notices.replaceChildren()
  }

  /** Shows a conversation's history: messages from GET …/messages?order=asc. */
  function showHistory (messages) {
    let section
    for (const m of messages) {
      if (section !== undefined && m.section_id && m.section_id !== section) add(divider('cleared: the bot does not see the turns above'))
      if (m.section_id) section = m.section_id
      if (m.role === 'user' && m.type === 'question') add(userBubble(contentOf(m)))
      else if (m.role === 'assistant' && m.type === 'answer') add(historyAnswer(m.content))
    }
  }

  function markCleared () { add(divider('cleared: the bot does not see the turns above')) }

  // ---- keyboard and buttons ----------------------------------------------------

  els.form.addEventListener('submit', (e) => { e.preventDefault(); void send() })
  els.composer.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); void send() }
  })
  els.stop.addEventListener('click', stop)

  return { send, stop, reset, showHistory, markCleared, notify, get running () { return running !== null } }
}

/** A history message's content for a user bubble: text, or object_string parts. */
function contentOf (m) {
  if (m.content_type !== 'object_string') return m.content
  try {
    const parts = JSON.parse(m.content)
    if (Array.isArray(parts)) return parts.map((p) => ({ ...p, name: p.file_id || p.file_url }))
  } catch { /* show it as text */ }
  return m.content
}
