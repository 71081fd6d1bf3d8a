// The raw view: for the last request, the request body, the SSE frames as they came
// (with their arrival time) and a curl command that reproduces it.
import { h, $ } from './dom.js'

/** POSIX shell single quotes. */
export function shellQuote (s) {
  return `'${String(s).replace(/'/g, "'\\''")}'`
}

/**
 * curl for a request. The API key is never written out: the command reads it from
 * $GATEWAY_API_KEY, so a copied command or a screenshot does not leak it.
 */
export function curlFor ({ method = 'POST', url, body, file, withKey }) {
  const parts = ['curl']
  if (body?.stream === true) parts.push('-N')
  if (method !== 'GET' && !(method === 'POST' && (body !== undefined || file))) parts.push('-X', method)
  parts.push(shellQuote(url))
  if (withKey) parts.push('-H', '"Authorization: Bearer $GATEWAY_API_KEY"')
  if (file) {
    parts.push('-F', shellQuote(`file=@${file}`))
  } else if (body !== undefined) {
    parts.push('-H', shellQuote('Content-Type: application/json'), '-d', shellQuote(JSON.stringify(body)))
  }
  return parts.join(' ')
}

export function createRawView ({ toggle, panel, withKey }) {
  const body = $('#raw-body', panel)
  const sync = () => { panel.hidden = !toggle.checked }
  toggle.addEventListener('change', sync)
  sync()

  /** Starts the record of a request; returns { response(res), block(b), note(text) }. */
  function start ({ method = 'POST', path, json, file }) {
    const started = performance.now()
    const url = new URL(path, location.origin).href
    const curl = curlFor({ method, url, body: json, file, withKey: withKey() })
    const status = h('p', { class: 'hint' }, `${method} ${path} · waiting for the answer…`)
    const frames = h('pre', { class: 'frames', 'data-testid': 'raw-frames' })
    const copy = h('button', { type: 'button', class: 'secondary small', onclick: () => copyText(curl, copy) }, 'Copy curl')
    body.replaceChildren(
      status,
      h('h3', {}, 'Request body'),
      h('pre', { 'data-testid': 'raw-request' }, file ? `multipart/form-data: file=${file}` : JSON.stringify(json, null, 2)),
      h('h3', {}, 'curl ', copy),
      h('pre', { class: 'curl', 'data-testid': 'raw-curl' }, curl),
      h('h3', {}, 'Frames as they came'),
      frames
    )
    const stamp = () => `+${String(Math.round(performance.now() - started)).padStart(5)} ms  `
    return {
      response (res) {
        const type = res.headers.get('content-type') || ''
        status.textContent = `${method} ${path} → HTTP ${res.status} ${type.split(';')[0]}`
      },
      block (b) { frames.append(stamp() + b.raw + '\n\n') },
      note (text) { frames.append(stamp() + text + '\n') }
    }
  }
  return { start }
}

async function copyText (text, button) {
  try {
    await navigator.clipboard.writeText(text)
    button.textContent = 'Copied'
  } catch {
    const area = h('textarea', { class: 'sr-only' }, text)
    document.body.append(area)
    area.select()
    document.execCommand('copy')
    area.remove()
    button.textContent = 'Copied'
  }
  setTimeout(() => { button.textContent = 'Copy curl' }, 1500)
}
