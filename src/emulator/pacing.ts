/** Demo pacing: deltas spread over time, and CJK text cut small, so a person sees the answer stream. */

export interface PaceDeltas {
  minMs: number
  maxMs: number
}

/** what `demo: true` means */
export const DEMO_PACE_DELTAS: PaceDeltas = { minMs: 30, maxMs: 80 }

/** CJK ideographs, kana, hangul and full-width punctuation: scripts written without spaces. */
const CJK = /[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/

/** CJK characters per delta under demo pacing */
export const CJK_CHARS_PER_DELTA = 3

export function pacedDelay (p: PaceDeltas): number {
  return Math.round(p.minMs + Math.random() * Math.max(0, p.maxMs - p.minMs))
}

/** Cuts every piece so none carries more than `size` CJK characters; other text stays with its neighbour. */
export function splitCjk (pieces: string[], size = CJK_CHARS_PER_DELTA): string[] {
  const out: string[] = []
  for (const piece of pieces) {
    if (!CJK.test(piece)) {
      out.push(piece)
      continue
    }
    let cur = ''
    let cjk = 0
    for (const ch of piece) {
      const isCjk = CJK.test(ch)
      if (isCjk && cjk >= size) {
        out.push(cur)
        cur = ''
        cjk = 0
      }
      cur += ch
      if (isCjk) cjk++
    }
    if (cur !== '') out.push(cur)
  }
  return out
}

/** Parses `EMULATOR_PACE_DELTAS=30-80` (or `50`) for the standalone emulator. */
export function parsePaceDeltas (v: string | undefined): PaceDeltas | undefined {
  if (!v) return undefined
  const m = /^(\d+)(?:-(\d+))?$/.exec(v.trim())
  if (!m) return undefined
  const minMs = Number(m[1])
  const maxMs = m[2] === undefined ? minMs : Number(m[2])
  return { minMs: Math.min(minMs, maxMs), maxMs: Math.max(minMs, maxMs) }
}
