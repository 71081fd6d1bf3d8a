import { randomBytes } from 'node:crypto'

// Coze ids are 19-digit decimal strings. Ours count up, so ids created later sort later
// (message lists rely on that for before_id / after_id).
let seq = (Date.now() % 1_000_000_000) * 1_000_000

export function newId (): string {
  seq += 1
  return '75' + String(seq).padStart(17, '0')
}

const processHex = randomBytes(4).toString('hex').toUpperCase()
let logSeq = 0
let stampSecond = -1
let stamp = ''

function two (n: number): string {
  return n < 10 ? '0' + n : String(n)
}

/** A logid as the cloud formats it: 14-digit local timestamp, then uppercase hex (34 chars). */
export function newLogId (): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== stampSecond) {
    stampSecond = second
    const d = new Date(now)
    stamp = String(d.getFullYear()) + two(d.getMonth() + 1) + two(d.getDate()) +
      two(d.getHours()) + two(d.getMinutes()) + two(d.getSeconds())
  }
  logSeq = (logSeq + 1) % 0x1000000000000
  return stamp + processHex + logSeq.toString(16).toUpperCase().padStart(12, '0')
}

/** Unix seconds, as every Coze timestamp. */
export function nowSec (): number {
  return Math.floor(Date.now() / 1000)
}
