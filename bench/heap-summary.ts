// What a stream costs, object by object: compares two V8 heap snapshots of one gateway
// process (idle, and holding N streams) per constructor / object kind, divided by N.
// Self size is the objects' own bytes (their sum is the live heap a stream adds); retained
// size is what freeing those objects would free, computed from the dominator tree as
// Chrome DevTools' Summary view does (an instance inside another instance of the same
// constructor counts once). Reads snapshots of any size (streamed, not JSON.parse'd whole).
//
// CLI: tsx bench/heap-summary.ts <idle.heapsnapshot> <loaded.heapsnapshot> --per N [--top 30]
//      tsx bench/heap-summary.ts <file.heapsnapshot> [--top 30]   (one snapshot: totals per kind)
import { createReadStream } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface Meta {
  node_fields: string[]
  node_types: [string[], ...unknown[]]
  edge_fields: string[]
  edge_types: [string[], ...unknown[]]
}

interface Snapshot { meta: Meta, nodeCount: number, edgeCount: number, nodes: Uint32Array, edges: Uint32Array, strings: string[] }

const NODES = Buffer.from('"nodes":[')
const EDGES = Buffer.from('"edges":[')
const STRINGS = Buffer.from('"strings":[')

/** Streams a .heapsnapshot into typed arrays: nodes and edges are flat lists of integers. */
export async function readSnapshot (file: string): Promise<Snapshot> {
  let phase: 'header' | 'nodes' | 'to-edges' | 'edges' | 'to-strings' | 'strings' = 'header'
  let carry: Buffer = Buffer.alloc(0)
  let meta: Meta | undefined
  let nodes = new Uint32Array(0)
  let edges = new Uint32Array(0)
  let nodeCount = 0
  let edgeCount = 0
  let target = nodes
  let pos = 0
  let num = -1
  const stringParts: Buffer[] = []

  /** Parses integers into `target` from buf[i…]; returns the index after the closing ']' or -1. */
  const numbers = (buf: Buffer, i: number): number => {
    for (; i < buf.length; i++) {
      const c = buf[i]!
      if (c >= 48 && c <= 57) num = num < 0 ? c - 48 : num * 10 + (c - 48)
      else {
        if (num >= 0) { target[pos++] = num; num = -1 }
        if (c === 93) return i + 1 // ]
      }
    }
    return -1
  }

  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 }) as AsyncIterable<Buffer>) {
    const buf: Buffer = carry.length ? Buffer.concat([carry, chunk]) : chunk
    carry = Buffer.alloc(0)
    let i = 0
    while (i < buf.length) {
      if (phase === 'header') {
        const at = buf.indexOf(NODES)
        if (at === -1) { carry = buf; break }
        const head = buf.subarray(0, at).toString('utf8').replace(/,\s*$/, '') + '}'
        const snap = (JSON.parse(head) as { snapshot: { meta: Meta, node_count: number, edge_count: number } }).snapshot
        meta = snap.meta
        nodeCount = snap.node_count
        edgeCount = snap.edge_count
        nodes = new Uint32Array(nodeCount * meta.node_fields.length)
        edges = new Uint32Array(edgeCount * meta.edge_fields.length)
        target = nodes
        pos = 0
        phase = 'nodes'
        i = at + NODES.length
      } else if (phase === 'nodes' || phase === 'edges') {
        const end = numbers(buf, i)
        if (end === -1) break
        i = end
        phase = phase === 'nodes' ? 'to-edges' : 'to-strings'
      } else if (phase === 'strings') {
        stringParts.push(Buffer.from(buf.subarray(i)))
        break
      } else {
        const marker = phase === 'to-edges' ? EDGES : STRINGS
        const at = buf.indexOf(marker, i)
        if (at === -1) { carry = buf.subarray(Math.max(i, buf.length - marker.length)); break }
        i = at + marker.length
        if (phase === 'to-edges') { target = edges; pos = 0; phase = 'edges' } else { stringParts.push(Buffer.from('[')); phase = 'strings' }
      }
    }
  }
  if (!meta || phase !== 'strings') throw new Error(`${file}: not a complete heap snapshot`)
  const text = Buffer.concat(stringParts).toString('utf8')
  const strings = JSON.parse(text.slice(0, text.lastIndexOf(']') + 1)) as string[]
  return { meta, nodeCount, edgeCount, nodes, edges, strings }
}

/** The group a node counts in, as DevTools' Summary names them. */
function kindOf (type: string, name: string): string {
  switch (type) {
    case 'object': case 'native': case 'synthetic': return name || `(${type})`
    case 'closure': return '(closure)'
    case 'array': return '(array)'
    case 'string': case 'concatenated string': case 'sliced string': return '(string)'
    case 'code': return '(compiled code)'
    case 'hidden': return '(system)'
    default: return `(${type})`
  }
}

export interface KindStats { count: number, self: number, retained: number }
/** kinds: per constructor / kind; named: closures by function name, internal arrays by what they hold */
export interface HeapStats { nodes: number, total: number, kinds: Map<string, KindStats>, named: Map<string, KindStats> }

const NAMED: Record<string, string> = { closure: '(closure)', array: '(array)', hidden: '(system)' }

/** Count, self size and (DevTools-style) retained size per kind. */
export function analyse (s: Snapshot): HeapStats {
  const nf = s.meta.node_fields.length
  const ef = s.meta.edge_fields.length
  const nType = s.meta.node_fields.indexOf('type')
  const nName = s.meta.node_fields.indexOf('name')
  const nSelf = s.meta.node_fields.indexOf('self_size')
  const nEdges = s.meta.node_fields.indexOf('edge_count')
  const eType = s.meta.edge_fields.indexOf('type')
  const eTo = s.meta.edge_fields.indexOf('to_node')
  const nodeTypes = s.meta.node_types[0]
  const edgeTypes = s.meta.edge_types[0]
  const weak = edgeTypes.indexOf('weak')
  const shortcut = edgeTypes.indexOf('shortcut')
  const n = s.nodeCount

  // kind of every node, and the first edge of every node
  const kindIds = new Map<string, number>()
  const kindNames: string[] = []
  const kind = new Uint32Array(n)
  const firstEdge = new Uint32Array(n + 1)
  for (let i = 0, e = 0; i < n; i++) {
    const key = kindOf(nodeTypes[s.nodes[i * nf + nType]!]!, s.strings[s.nodes[i * nf + nName]!]!)
    let id = kindIds.get(key)
    if (id === undefined) { id = kindNames.push(key) - 1; kindIds.set(key, id) }
    kind[i] = id
    firstEdge[i] = e
    e += s.nodes[i * nf + nEdges]!
    firstEdge[i + 1] = e
  }
  // Weak edges hold nothing; shortcut edges only from the root (as DevTools).
  const essential = (from: number, k: number) => {
    const t = s.edges[k * ef + eType]!
    return t !== weak && (t !== shortcut || from === 0)
  }

  // DFS post-order from the root (node 0) over essential edges
  const UNSEEN = 0xffffffff
  const post = new Uint32Array(n).fill(UNSEEN)
  const order = new Uint32Array(n) // post-order index → node
  const stackNode = new Uint32Array(n)
  const stackEdge = new Uint32Array(n)
  const seen = new Uint8Array(n)
  let sp = 0
  let count = 0
  stackNode[0] = 0; stackEdge[0] = firstEdge[0]!; seen[0] = 1; sp = 1
  while (sp > 0) {
    const v = stackNode[sp - 1]!
    const k = stackEdge[sp - 1]!
    if (k < firstEdge[v + 1]!) {
      stackEdge[sp - 1] = k + 1
      if (!essential(v, k)) continue
      const w = s.edges[k * ef + eTo]! / nf
      if (seen[w]) continue
      seen[w] = 1
      stackNode[sp] = w; stackEdge[sp] = firstEdge[w]!; sp++
    } else {
      sp--
      post[v] = count
      order[count++] = v
    }
  }

  // predecessors (reachable nodes, essential edges), CSR
  const predStart = new Uint32Array(n + 1)
  for (let v = 0; v < n; v++) {
    if (post[v] === UNSEEN) continue
    for (let k = firstEdge[v]!; k < firstEdge[v + 1]!; k++) if (essential(v, k)) predStart[s.edges[k * ef + eTo]! / nf + 1]!++
  }
  for (let v = 0; v < n; v++) predStart[v + 1]! += predStart[v]!
  const preds = new Uint32Array(predStart[n]!)
  const fill = predStart.slice(0, n)
  for (let v = 0; v < n; v++) {
    if (post[v] === UNSEEN) continue
    for (let k = firstEdge[v]!; k < firstEdge[v + 1]!; k++) if (essential(v, k)) preds[fill[s.edges[k * ef + eTo]! / nf]!++] = v
  }

  // immediate dominators (Cooper, Harvey, Kennedy), on post-order indices
  const idom = new Uint32Array(count).fill(UNSEEN)
  const root = count - 1
  idom[root] = root
  for (let changed = true; changed;) {
    changed = false
    for (let b = root - 1; b >= 0; b--) {
      const v = order[b]!
      let nd = UNSEEN
      for (let p = predStart[v]!; p < predStart[v + 1]!; p++) {
        const pb = post[preds[p]!]!
        if (pb === UNSEEN || idom[pb] === UNSEEN) continue
        if (nd === UNSEEN) { nd = pb; continue }
        let a = pb
        let c = nd
        while (a !== c) {
          while (a < c) a = idom[a]!
          while (c < a) c = idom[c]!
        }
        nd = a
      }
      if (nd !== UNSEEN && idom[b] !== nd) { idom[b] = nd; changed = true }
    }
  }

  // retained sizes: children before their dominator in post-order
  const retained = new Float64Array(count)
  for (let b = 0; b < count; b++) retained[b]! += s.nodes[order[b]! * nf + nSelf]!
  for (let b = 0; b < root; b++) if (idom[b] !== UNSEEN) retained[idom[b]!]! += retained[b]!

  // per kind: count and self of every node; retained of the instances not inside another of the same kind
  const kinds = kindNames.map(() => ({ count: 0, self: 0, retained: 0 }))
  let total = 0
  const named = new Map<string, KindStats>()
  for (let b = 0; b < count; b++) {
    const v = order[b]!
    const k = kinds[kind[v]!]!
    const self = s.nodes[v * nf + nSelf]!
    k.count++
    k.self += self
    total += self
    const group = NAMED[nodeTypes[s.nodes[v * nf + nType]!]!]
    if (group) {
      const key = `${group} ${s.strings[s.nodes[v * nf + nName]!] || '(anonymous)'}`
      const x = named.get(key) ?? named.set(key, { count: 0, self: 0, retained: 0 }).get(key)!
      x.count++
      x.self += self
    }
  }
  // dominator tree children, CSR, then a DFS that counts how deep we are in each kind
  const childStart = new Uint32Array(count + 1)
  for (let b = 0; b < root; b++) if (idom[b] !== UNSEEN) childStart[idom[b]! + 1]!++
  for (let b = 0; b < count; b++) childStart[b + 1]! += childStart[b]!
  const children = new Uint32Array(childStart[count]!)
  const cfill = childStart.slice(0, count)
  for (let b = 0; b < root; b++) if (idom[b] !== UNSEEN) children[cfill[idom[b]!]!++] = b
  const depth = new Uint32Array(kindNames.length)
  const dStack = new Uint32Array(count)
  const dNext = new Uint32Array(count)
  sp = 0
  dStack[sp] = root; dNext[sp] = childStart[root]!; sp++
  depth[kind[order[root]!]!]!++
  while (sp > 0) {
    const b = dStack[sp - 1]!
    const c = dNext[sp - 1]!
    if (c < childStart[b + 1]!) {
      dNext[sp - 1] = c + 1
      const ch = children[c]!
      const kd = kind[order[ch]!]!
      if (depth[kd] === 0) kinds[kd]!.retained += retained[ch]!
      depth[kd]!++
      dStack[sp] = ch; dNext[sp] = childStart[ch]!; sp++
    } else {
      depth[kind[order[b]!]!]!--
      sp--
    }
  }
  return { nodes: count, total, kinds: new Map(kindNames.map((name, i) => [name, kinds[i]!])), named }
}

export interface DiffRow { kind: string, count: number, self: number, retained: number }
export interface HeapDiff { per: number, idle: HeapStats, loaded: HeapStats, selfPerItem: number, rows: DiffRow[], named: DiffRow[] }

function diffRows (idle: Map<string, KindStats>, loaded: Map<string, KindStats>, per: number, top: number, by: 'self' | 'count'): DiffRow[] {
  const rows: DiffRow[] = []
  for (const [kind, l] of loaded) {
    const i = idle.get(kind) ?? { count: 0, self: 0, retained: 0 }
    rows.push({ kind, count: (l.count - i.count) / per, self: (l.self - i.self) / per, retained: (l.retained - i.retained) / per })
  }
  return rows.sort((a, b) => b[by] - a[by]).slice(0, top)
}

/** (loaded − idle) / per, per kind (largest self size first) and per closure / internal array name (most objects first). */
export function diff (idle: HeapStats, loaded: HeapStats, per: number, top = 30): HeapDiff {
  return {
    per,
    idle,
    loaded,
    selfPerItem: (loaded.total - idle.total) / per,
    rows: diffRows(idle.kinds, loaded.kinds, per, top, 'self'),
    named: diffRows(idle.named, loaded.named, per, top, 'count')
  }
}

const kb = (b: number) => (b / 1024).toFixed(2)
const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/`/g, "'")

export function diffMarkdown (d: HeapDiff, what = 'stream'): string {
  const shown = d.rows.reduce((a, r) => a + r.self, 0)
  return [
    `Live heap: ${(d.idle.total / 1024 ** 2).toFixed(1)} MB idle, ${(d.loaded.total / 1024 ** 2).toFixed(1)} MB with ${d.per.toLocaleString('en-US')} ${what}s open: **${kb(d.selfPerItem)} KB of live objects per ${what}** (the rows below add up to ${kb(shown)} KB).`,
    '',
    `| constructor / kind | objects per ${what} | self KB per ${what} | retained KB per ${what} |`,
    '| --- | ---: | ---: | ---: |',
    ...d.rows.map((r) => `| \`${esc(r.kind)}\` | ${r.count.toFixed(1)} | ${kb(r.self)} | ${kb(r.retained)} |`),
    '',
    `Closures (by function), internal arrays and system objects (by name), most per ${what} first:`,
    '',
    `| object | objects per ${what} | self KB per ${what} |`,
    '| --- | ---: | ---: |',
    ...d.named.map((r) => `| \`${esc(r.kind)}\` | ${r.count.toFixed(1)} | ${kb(r.self)} |`)
  ].join('\n')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2)
  const opt = (k: string) => { const i = args.indexOf(k); return i === -1 ? undefined : args[i + 1] }
  const files = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1]!.startsWith('--')))
  const top = Number(opt('--top') ?? 30)
  if (files.length === 0) { console.error('usage: tsx bench/heap-summary.ts <idle.heapsnapshot> [<loaded.heapsnapshot> --per N] [--top N]'); process.exit(2) }
  const stats = await Promise.all(files.map(async (f) => analyse(await readSnapshot(f))))
  if (stats.length === 2) console.log(diffMarkdown(diff(stats[0]!, stats[1]!, Number(opt('--per') ?? 1), top), opt('--what') ?? 'stream'))
  else {
    const s = stats[0]!
    console.log(`Live heap: ${(s.total / 1024 ** 2).toFixed(1)} MB in ${s.nodes.toLocaleString('en-US')} objects\n\n| constructor / kind | objects | self KB | retained KB |\n| --- | ---: | ---: | ---: |`)
    for (const [k, v] of [...s.kinds].sort((a, b) => b[1].self - a[1].self).slice(0, top)) console.log(`| \`${esc(k)}\` | ${v.count} | ${kb(v.self)} | ${kb(v.retained)} |`)
  }
}
