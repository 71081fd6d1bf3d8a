// Workflows: POST /api/v1/workflows/{id}/run {parameters, stream: true}, rendered node by
// node; an interrupt asks its question with a field that resumes the run
// (POST /api/v1/workflows/{id}/resume {event_id, interrupt_type, resume_data}).
import { h, errorBox, formatMs, prettyJson } from './dom.js'

/** The parameters textarea → an object, or an error saying what is wrong. */
export function parseParameters (text) {
  if (!text.trim()) return { value: {} }
  let value
  try { value = JSON.parse(text) } catch (err) { return { error: `Parameters are not valid JSON: ${err.message}` } }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { error: 'Parameters must be a JSON object, e.g. {"input": "Hello"}' }
  return { value }
}

/**
 * ctx: { api, raw, els: { id, params, run, stop, output }, refuse() }
 */
export function createWorkflow (ctx) {
  const { api, raw, els } = ctx
  let running = null // AbortController

  function setRunning (on) {
    els.run.disabled = on
    els.stop.disabled = !on
  }

  function show (node) {
    els.output.append(node)
    node.scrollIntoView?.({ block: 'nearest' })
  }

  async function runWorkflow () {
    if (running) return
    const id = els.id.value.trim()
    if (!id) { els.output.replaceChildren(errorBox({ code: 'WORKFLOW_ID_REQUIRED', message: 'Enter a workflow id.' })); els.id.focus(); return }
    const params = parseParameters(els.params.value)
    if (params.error) { els.output.replaceChildren(errorBox({ code: 'INVALID_PARAMETERS', message: params.error })); els.params.focus(); return }
    const refusal = ctx.refuse()
    if (refusal) { els.output.replaceChildren(errorBox(refusal)); return }
    els.output.replaceChildren()
    await stream(id, `/api/v1/workflows/${encodeURIComponent(id)}/run`, { parameters: params.value, stream: true })
  }

  async function resume (id, interrupt, answer, card) {
    if (running) return
    card.settle(answer)
    show(h('div', { class: 'divider' }, `resumed with: ${answer}`))
    await stream(id, `/api/v1/workflows/${encodeURIComponent(id)}/resume`, {
      event_id: interrupt.event_id, interrupt_type: interrupt.interrupt_type, resume_data: answer
    })
  }

  /** One streamed run (or resume): node cards, interrupt, done, error, stats. */
  async function stream (id, path, body) {
    const controller = new AbortController()
    running = controller
    setRunning(true)
    const rec = raw.start({ method: 'POST', path, json: body })
    const t0 = performance.now()
    let firstMessage
    let logid
    let usage
    let node = null // the card being filled: { title, finished, text, el, body }
    let outcome = 'cut' // done | interrupt | error | cut
    try {
      const { ended } = await api.stream(path, body, {
        signal: controller.signal,
        onOpen: (res) => { rec.response(res); logid = res.headers.get('x-coze-logid') || undefined },
        onBlock: (b) => rec.block(b),
        onFrame: (f) => {
          if (f.type === 'workflow_message') {
            firstMessage ??= performance.now() - t0
            if (f.usage) usage = f.usage
            // Coze sends a node's output in pieces: one card per node until it finishes.
            if (!node || node.finished || node.title !== f.node_title) {
              const bodyEl = h('pre', { class: 'node-content' })
              const el = h('div', { class: 'node', dataset: { testid: 'workflow-node', node: f.node_title, state: 'running' } },
                h('div', { class: 'node-title' }, f.node_title || 'node'), bodyEl)
              node = { title: f.node_title, finished: false, text: '', el, body: bodyEl }
              show(el)
            }
            node.text += f.content ?? ''
            node.body.textContent = node.text
            if (f.node_is_finish) {
              node.finished = true
              node.el.dataset.state = 'finished'
              node.body.textContent = prettyJson(node.text)
            }
          } else if (f.type === 'interrupt') {
            outcome = 'interrupt'
            show(interruptCard(id, f))
          } else if (f.type === 'done') {
            outcome = 'done'
            show(h('div', { class: 'node done', dataset: { testid: 'workflow-done' } }, 'Finished',
              f.debug_url && /^https?:\/\//.test(f.debug_url) ? [' · ', h('a', { href: f.debug_url, target: '_blank', rel: 'noopener noreferrer' }, 'debug in Coze')] : null))
          } else if (f.type === 'error') {
            outcome = 'error'
            show(errorBox({ code: f.code, message: f.message, status: f.status, logid: f.logid, cozeCode: f.coze_code }))
          }
        }
      })
      if (outcome === 'cut') show(h('div', { class: 'flag' }, `Incomplete: the stream ${ended ? 'ended without done or an interrupt' : 'was cut before its end frame'}.`))
    } catch (err) {
      if (err.name === 'AbortError') show(h('div', { class: 'flag' }, 'Stopped.'))
      else show(errorBox(err))
    } finally {
      running = null
      setRunning(false)
      const bits = [`first message ${formatMs(firstMessage)}`, `total ${formatMs(performance.now() - t0)}`]
      if (usage) bits.push(`tokens ${usage.token_count}`)
      if (logid) bits.push(`logid ${logid}`)
      show(h('div', { class: 'stats' }, bits.join(' · ')))
      els.output.querySelector('[data-testid="resume-input"]')?.focus()
    }
  }

  function interruptCard (id, f) {
    const input = h('input', { class: 'resume-input', dataset: { testid: 'resume-input' }, 'aria-label': 'your answer', placeholder: 'your answer · Enter resumes', autocomplete: 'off' })
    const button = h('button', { type: 'button', class: 'small' }, 'Resume')
    const card = h('div', { class: 'node interrupt', dataset: { testid: 'workflow-interrupt' } },
      h('div', { class: 'node-title' }, `${f.node_title || 'Question'} asks:`),
      h('p', { class: 'question' }, typeof f.data === 'string' ? f.data : JSON.stringify(f.data)),
      h('div', { class: 'row' }, input, button))
    const api = {
      settle (answer) {
        input.readOnly = true
        input.value = answer
        input.removeAttribute('data-testid')
        button.remove()
      }
    }
    const go = () => {
      const answer = input.value.trim()
      if (!answer) { input.focus(); return }
      void resume(id, f, answer, api)
    }
    button.addEventListener('click', go)
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.isComposing) { e.preventDefault(); go() }
    })
    return card
  }

  els.run.addEventListener('click', () => { void runWorkflow() })
  els.stop.addEventListener('click', () => running?.abort())
  els.params.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); void runWorkflow() }
  })

  return { run: runWorkflow, stop: () => running?.abort(), get running () { return running !== null } }
}
