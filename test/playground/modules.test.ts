// The playground's pure modules, in Node: the Markdown renderer (bot output must never
// become live HTML), the SSE parser (frames split anywhere) and the curl builder.
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

// Plain browser JS with no type declarations: imported by URL, typed here.
const load = (name: string) => import(new URL(`../../playground/js/${name}`, import.meta.url).href)
const { renderMarkdown, escapeHtml } = await load('markdown.js') as { renderMarkdown (s: string): string, escapeHtml (s: string): string }
const { SseParser } = await load('sse.js') as { SseParser: new () => { feed (t: string): { raw: string, data: string | null }[], rest (): string } }
const { curlFor, shellQuote } = await load('raw.js') as {
  curlFor (o: { method?: string, url: string, body?: unknown, file?: string, withKey?: boolean }): string
  shellQuote (s: string): string
}

/** Every tag the renderer produced, with its attributes. */
const tags = (html: string) => [...html.matchAll(/<([a-z0-9]+)([^>]*)>/g)].map((m) => ({ name: m[1], attrs: (m[2] ?? '').trim() }))
const ALLOWED = new Set(['p', 'br', 'strong', 'em', 'del', 'code', 'pre', 'ul', 'ol', 'li', 'blockquote', 'a', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6'])

describe('renderMarkdown', () => {
  it('renders the common subset', () => {
    expect(renderMarkdown('Hello **world**, *you* and `x < y`')).toBe('<p>Hello <strong>world</strong>, <em>you</em> and <code>x &lt; y</code></p>')
    expect(renderMarkdown('line one\nline two\n\nnext')).toBe('<p>line one<br>line two</p><p>next</p>')
    expect(renderMarkdown('- a\n- **b**\n\n1. one\n2. two')).toBe('<ul><li>a</li><li><strong>b</strong></li></ul><ol><li>one</li><li>two</li></ol>')
    expect(renderMarkdown('```js\nconst a = "<b>"\n```\nafter')).toBe('<pre><code class="language-js">const a = &quot;&lt;b&gt;&quot;</code></pre><p>after</p>')
    expect(renderMarkdown('## Title\n> quoted')).toBe('<h2>Title</h2><blockquote><p>quoted</p></blockquote>')
    expect(renderMarkdown('see [the docs](https://example.com/a?b=1&c=2)')).toBe('<p>see <a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the docs</a></p>')
  })

  it('shows an unclosed fence as code while the answer is still streaming', () => {
    expect(renderMarkdown('text\n```\nlet x = 1')).toBe('<p>text</p><pre><code>let x = 1</code></pre>')
  })

  it('leaves 2 * 3 * 4 and snake_case alone', () => {
    expect(renderMarkdown('2 * 3 * 4 and my_var_name')).toBe('<p>2 * 3 * 4 and my_var_name</p>')
  })

  const attacks = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '<a href="javascript:alert(1)">x</a>',
    '[click](javascript:alert(1))',
    '[click](data:text/html,<script>alert(1)</script>)',
    '[x](https://ok.example/"onmouseover="alert(1))',
    '[x](https://ok.example/\'onmouseover=\'alert(1))',
    '**<svg onload=alert(1)>**',
    '`<iframe src=//evil>`',
    '```\n</code></pre><script>alert(1)</script>\n```',
    '```"><script>\nx\n```',
    '> <style>body{display:none}</style>',
    '[a `<b>`](https://e.example/*x*)',
    '\uE0000\uE000 <b>slot</b>'
  ]
  it.each(attacks)('never lets HTML through: %s', (input) => {
    const html = renderMarkdown(input)
    for (const t of tags(html)) {
      expect(ALLOWED.has(t.name!), `<${t.name}> in ${html}`).toBe(true)
      if (t.name === 'a') expect(t.attrs).toMatch(/^href="https?:\/\/[^"]*" target="_blank" rel="noopener noreferrer"$/)
      else if (t.name === 'code') expect(t.attrs).toMatch(/^(class="language-[\w+-]+")?$/)
      else expect(t.attrs, `<${t.name} ${t.attrs}>`).toBe('')
    }
    expect(html).not.toMatch(/<(script|img|svg|iframe|style)/i)
    expect(html).not.toMatch(/href="(?!https?:)/)
  })

  it('escapes every HTML-significant character', () => {
    expect(escapeHtml('<a href="x" title=\'y\'>&</a>')).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;')
  })
})

describe('SseParser', () => {
  const body = 'data: {"type":"message_delta","content":"a"}\n\n: heartbeat\n\ndata: {"type":"end"}\n\n'

  it('gives the same frames however the body is cut into chunks', () => {
    const whole = new SseParser().feed(body)
    expect(whole.map((b) => b.data)).toEqual(['{"type":"message_delta","content":"a"}', null, '{"type":"end"}'])
    for (let size = 1; size <= 7; size++) {
      const p = new SseParser()
      const got = []
      for (let i = 0; i < body.length; i += size) got.push(...p.feed(body.slice(i, i + size)))
      expect(got).toEqual(whole)
      expect(p.rest()).toBe('')
    }
  })

  it('accepts CRLF line ends, split between chunks too, and multi-line data', () => {
    const p = new SseParser()
    const got = [...p.feed('data: one\r'), ...p.feed('\ndata: two\r\n\r'), ...p.feed('\n')]
    expect(got.map((b) => b.data)).toEqual(['one\ntwo'])
  })

  it('keeps a frame cut in the middle as the rest', () => {
    const p = new SseParser()
    expect(p.feed('data: {"type":"message_delta"}\n\ndata: {"ty')).toHaveLength(1)
    expect(p.rest()).toBe('data: {"ty')
  })
})

describe('curlFor', () => {
  it('quotes for the shell, so the command runs as shown', () => {
    const body = { user_id: "o'brien", messages: [{ role: 'user', content: 'it\'s $HOME `x` "q"' }], stream: true }
    const cmd = curlFor({ url: 'http://127.0.0.1:1/api/v1/chat', body })
    expect(cmd.startsWith("curl -N 'http://127.0.0.1:1/api/v1/chat'")).toBe(true)
    // the shell gives back exactly the JSON (printf stands in for curl)
    const dataArg = cmd.slice(cmd.indexOf(' -d ') + 4)
    expect(execFileSync('sh', ['-c', `printf %s ${dataArg}`], { encoding: 'utf8' })).toBe(JSON.stringify(body))
    expect(shellQuote("a'b")).toBe("'a'\\''b'")
  })

  it('reads the API key from $GATEWAY_API_KEY, never writing it out', () => {
    expect(curlFor({ url: 'http://h/api/v1/chat', body: {}, withKey: true })).toContain('-H "Authorization: Bearer $GATEWAY_API_KEY"')
    expect(curlFor({ url: 'http://h/api/v1/chat', body: {} })).not.toContain('Authorization')
    expect(curlFor({ url: 'http://h/api/v1/upload', file: 'cat.png' })).toBe("curl 'http://h/api/v1/upload' -F 'file=@cat.png'")
  })
})
