// Small DOM helpers. Text always goes in as text nodes: h() never parses HTML.

/**
 * h('button', { class: 'x', dataset: { testid: 'y' }, onclick: fn }, 'label', child)
 * Attributes that are null, undefined or false are left out; true gives an empty attribute.
 */
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'class') el.className = value
    else if (key === 'dataset') Object.assign(el.dataset, value)
    else if (key === 'text') el.textContent = value
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value)
    else if (key === 'value') el.value = value
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  append(el, children)
  return el
}

export function append (el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    el.append(child instanceof Node ? child : String(child))
  }
  return el
}

export const $ = (selector, root = document) => root.querySelector(selector)

/** 85 → "85 ms", 1320 → "1.32 s" */
export function formatMs (ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return '–'
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`
}

/** JSON text pretty-printed when it parses, else the text itself. */
export function prettyJson (text) {
  try { return JSON.stringify(JSON.parse(text), null, 2) } catch { return text }
}

/**
 * An error box: code, message and logid. Only the newest error on the page carries
 * data-testid="error", so "the error" always means the one just shown.
 */
export function errorBox (err) {
  const box = h('div', { class: 'error', role: 'alert' },
    h('strong', { class: 'error-code' }, err.code || 'ERROR'),
    err.status ? h('span', { class: 'error-status' }, ` HTTP ${err.status}`) : null,
    err.cozeCode !== undefined && err.cozeCode !== null ? h('span', { class: 'error-status' }, ` · Coze code ${err.cozeCode}`) : null,
    h('div', { class: 'error-message' }, err.message || 'Something went wrong, with no message.'),
    err.logid ? h('div', { class: 'error-logid' }, 'logid ', h('code', {}, err.logid)) : null
  )
  markNewestError(box)
  return box
}

export function markNewestError (el) {
  for (const old of document.querySelectorAll('[data-testid="error"]')) old.removeAttribute('data-testid')
  el.dataset.testid = 'error'
}
