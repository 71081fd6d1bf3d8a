// Chat bubbles. Every bubble is data-testid="message" with data-role user|assistant.
// An answer bubble has data-state: streaming, complete, waiting (tool calls), incomplete,
// stopped or error; and data-deltas, the number of deltas rendered so far.
import { h, errorBox, formatMs, prettyJson } from './dom.js'
import { renderMarkdown } from './markdown.js'
import { parseServerTiming } from './api.js'

function partsOf (content) {
  if (typeof content === 'string') return { text: content, files: [] }
  const files = []
  let text = ''
  for (const p of content) {
    if (p.type === 'text') text = p.text ?? ''
    else files.push({ kind: p.type, name: p.name || p.file_id || p.file_url })
  }
  return { text, files }
}

/** content: a string, or parts [{type, text?, file_id?, name?}] */
export function userBubble (content) {
  const { text, files } = partsOf(content)
  return h('article', { class: 'msg user', dataset: { testid: 'message', role: 'user' } },
    text ? h('div', { class: 'text' }, text) : null,
    files.length ? h('div', { class: 'files' }, files.map((f) => h('span', { class: 'chip' }, `${f.kind}: ${f.name}`))) : null
  )
}

/** An answer from the history: complete, markdown rendered. */
export function historyAnswer (text) {
  const content = h('div', { class: 'content md' })
  content.innerHTML = renderMarkdown(text)
  return h('article', { class: 'msg assistant', dataset: { testid: 'message', role: 'assistant', state: 'complete' } }, content)
}

export function divider (text) {
  return h('div', { class: 'divider', role: 'separator' }, text)
}

/**
 * A streamed answer. Returns the element and the methods the chat calls as frames come.
 * onFollowUp(text) sends a suggestion; onToolSubmit(outputs) answers tool calls.
 */
export function answerBubble ({ onFollowUp, onToolSubmit }) {
  const reasoningBody = h('div', { class: 'reasoning-body' })
  const reasoning = h('details', { class: 'reasoning', open: true, hidden: true }, h('summary', {}, 'Reasoning'), reasoningBody)
  const content = h('div', { class: 'content md' })
  const typing = h('div', { class: 'typing', 'aria-label': 'waiting for the answer' }, h('span'), h('span'), h('span'))
  const tools = h('div', { class: 'tool-calls', hidden: true })
  const followUps = h('div', { class: 'follow-ups', hidden: true })
  const flag = h('div', { class: 'flag', hidden: true })
  const problems = h('div', { class: 'problems' })
  const stats = h('footer', { class: 'stats' })
  const el = h('article', { class: 'msg assistant', dataset: { testid: 'message', role: 'assistant', state: 'streaming', deltas: '0' } },
    reasoning, typing, content, tools, followUps, flag, problems, stats)

  let text = ''
  let reasoningText = ''
  let deltas = 0
  const meta = { logid: undefined, serverTiming: [], usage: undefined, timing: undefined }

  const counted = () => { deltas += 1; el.dataset.deltas = String(deltas); typing.remove() }

  return {
    el,
    get text () { return text },
    appendText (delta) {
      counted()
      text += delta
      content.innerHTML = renderMarkdown(text)
    },
    appendReasoning (delta) {
      counted()
      reasoningText += delta
      reasoning.hidden = false
      reasoningBody.textContent = reasoningText
    },
    addFollowUp (question) {
      followUps.hidden = false
      followUps.append(h('button', { type: 'button', class: 'follow-up secondary small', onclick: () => onFollowUp(question) }, question))
    },
    showToolCalls (frame) {
      typing.remove()
      tools.hidden = false
      el.dataset.state = 'waiting'
      meta.usage = frame.usage
      const boxes = frame.tool_calls.map((call) => {
        const box = h('textarea', { class: 'tool-output', dataset: { testid: 'tool-output', toolCallId: call.id }, rows: 2, placeholder: `output of ${call.name} · Enter sends` })
        tools.append(h('div', { class: 'tool-call' },
          h('div', {}, 'The bot calls ', h('code', {}, call.name), ' and waits for its output:'),
          h('pre', {}, prettyJson(call.arguments)),
          box))
        return box
      })
      const submit = h('button', { type: 'button', class: 'small' }, boxes.length > 1 ? 'Submit outputs' : 'Submit output')
      const send = () => {
        const outputs = boxes.map((b) => ({ tool_call_id: b.dataset.toolCallId, output: b.value }))
        if (outputs.some((o) => o.output.trim() === '')) { boxes.find((b) => !b.value.trim()).focus(); return }
        onToolSubmit(outputs)
      }
      submit.addEventListener('click', send)
      for (const b of boxes) {
        b.addEventListener('keydown', (e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); send() }
        })
      }
      tools.append(submit)
      boxes[0]?.focus()
      return {
        boxes,
        submit: send,
        /** After the outputs went out: read-only, and no longer the page's tool-output. */
        settle () {
          for (const b of boxes) { b.readOnly = true; b.removeAttribute('data-testid') }
          submit.remove()
        }
      }
    },
    setLogid (logid) { if (logid) meta.logid = logid },
    setServerTiming (header) { meta.serverTiming = parseServerTiming(header) },
    complete (frame) {
      meta.usage = frame.usage
      meta.timing = frame.timing
      el.dataset.state = 'complete'
      typing.remove()
      if (!text && !reasoningText) content.append(h('p', { class: 'muted' }, '(the bot answered with no text)'))
    },
    markIncomplete (why) {
      el.dataset.state = el.dataset.state === 'error' ? 'error' : 'incomplete'
      el.classList.add('incomplete')
      typing.remove()
      flag.hidden = false
      flag.textContent = `Incomplete: ${why}`
    },
    markStopped () {
      el.dataset.state = 'stopped'
      el.classList.add('incomplete')
      typing.remove()
      flag.hidden = false
      flag.textContent = 'Stopped: you cancelled this answer (closing the stream makes the gateway cancel the chat in Coze).'
    },
    showError (err) {
      el.dataset.state = 'error'
      typing.remove()
      problems.append(errorBox(err))
      if (err.logid) meta.logid = err.logid
    },
    /** Timing and tokens; times in ms from the request's start. */
    finish ({ firstDelta, total }) {
      const bits = []
      if (firstDelta !== undefined) bits.push(['first delta', formatMs(firstDelta)])
      bits.push(['total', formatMs(total)])
      if (meta.usage) bits.push(['tokens', `${meta.usage.token_count} (${meta.usage.input_count} in / ${meta.usage.output_count} out)`])
      if (meta.logid) bits.push(['logid', meta.logid])
      for (const t of meta.serverTiming) bits.push([t.desc || t.name, t.dur !== undefined ? formatMs(t.dur) : ''])
      if (meta.timing && typeof meta.timing === 'object') {
        for (const [k, v] of Object.entries(meta.timing)) bits.push([k.replace(/_ms$/, ''), typeof v === 'number' ? formatMs(v) : String(v)])
      }
      stats.replaceChildren(...bits.map(([k, v]) => h('span', { class: 'stat', dataset: { stat: k } }, h('span', { class: 'muted' }, `${k} `), k === 'logid' ? h('code', {}, v) : v)))
    }
  }
}
