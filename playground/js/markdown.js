// A small, safe Markdown renderer for bot answers. Escape first, then add a known subset
// of tags: no HTML from the bot ever reaches the page as HTML. The only attributes
// produced are href (http and https only, escaped), rel, target and a code language class.
//
// Blocks: paragraphs (single newlines become <br>), # headings, - / * / 1. lists,
// > quotes, ``` fenced code (an unclosed fence while streaming shows as code so far).
// Inline: `code`, **bold**, *italic*, ~~strike~~, [text](https://…) links.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml (text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c])
}

// Placeholders for finished pieces (code spans, links) so later rules cannot touch them.
// U+E000 (private use) cannot come from the bot: it is stripped from the input.
const slot = (i) => `\uE000${i}\uE000`
const SLOT = /\uE000(\d+)\uE000/g

function inline (escaped) {
  const done = []
  const keep = (html) => { done.push(html); return slot(done.length - 1) }
  let s = escaped.replace(/`([^`\n]+)`/g, (_m, code) => keep(`<code>${code}</code>`))
  s = s.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s()<>]+)\)/g, (_m, text, url) =>
    keep(`<a href="${url}" target="_blank" rel="noopener noreferrer">${emphasis(text)}</a>`))
  const restore = (html) => html.replace(SLOT, (_m, i) => restore(done[Number(i)]))
  return restore(emphasis(s))
}

function emphasis (s) {
  return s
    .replace(/\*\*(?=\S)([^*]*?\S)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^*\w])\*(?=\S)([^*\n]*?\S)\*(?!\*)/g, '$1<em>$2</em>')
    .replace(/~~(?=\S)([^~]*?\S)~~/g, '<del>$1</del>')
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})\s*([\w+-]*)\s*$/
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/
const BULLET = /^\s{0,3}[-*+]\s+(.*)$/
const ORDERED = /^\s{0,3}\d{1,9}[.)]\s+(.*)$/
const QUOTE = /^\s{0,3}>\s?(.*)$/
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/

/** Markdown text → HTML string, safe to assign to innerHTML. */
export function renderMarkdown (source) {
  const lines = String(source ?? '').replace(/\uE000/g, '').replace(/\r\n?/g, '\n').split('\n')
  const out = []
  let paragraph = []
  const flush = () => {
    if (paragraph.length) out.push(`<p>${paragraph.map((l) => inline(escapeHtml(l))).join('<br>')}</p>`)
    paragraph = []
  }

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const fence = FENCE.exec(line)
    if (fence) {
      flush()
      const code = []
      const isClose = (l) => l.trim().startsWith(fence[1]) && /^([`~])\1*$/.test(l.trim())
      for (i++; i < lines.length && !isClose(lines[i]); i++) code.push(lines[i])
      const lang = fence[2] ? ` class="language-${escapeHtml(fence[2])}"` : ''
      out.push(`<pre><code${lang}>${escapeHtml(code.join('\n'))}</code></pre>`)
      continue
    }
    if (line.trim() === '') { flush(); continue }
    const heading = HEADING.exec(line)
    if (heading) {
      flush()
      const level = heading[1].length
      out.push(`<h${level}>${inline(escapeHtml(heading[2]))}</h${level}>`)
      continue
    }
    if (RULE.test(line)) { flush(); out.push('<hr>'); continue }
    const list = BULLET.test(line) ? BULLET : ORDERED.test(line) ? ORDERED : null
    if (list) {
      flush()
      const tag = list === BULLET ? 'ul' : 'ol'
      const items = []
      while (i < lines.length && list.test(lines[i])) items.push(`<li>${inline(escapeHtml(list.exec(lines[i++])[1]))}</li>`)
      i--
      out.push(`<${tag}>${items.join('')}</${tag}>`)
      continue
    }
    if (QUOTE.test(line)) {
      flush()
      const quoted = []
      while (i < lines.length && QUOTE.test(lines[i])) quoted.push(QUOTE.exec(lines[i++])[1])
      i--
      out.push(`<blockquote>${renderMarkdown(quoted.join('\n'))}</blockquote>`)
      continue
    }
    paragraph.push(line)
  }
  flush()
  return out.join('')
}
