/** Silent audio in real container formats, so clients can decode what the speech endpoint returns. */

export const SAMPLE_RATES = [8000, 16000, 22050, 24000, 32000, 44100, 48000] as const

function samplesOf (sampleRate: number, ms: number): number {
  return Math.max(1, Math.round(sampleRate * ms / 1000))
}

/** Raw PCM: signed 16-bit little-endian mono, all zero. */
export function pcmSilence (sampleRate: number, ms: number): Buffer {
  return Buffer.alloc(samplesOf(sampleRate, ms) * 2)
}

/** RIFF/WAVE, PCM 16-bit mono: the 44-byte canonical header, then silence. */
export function wavSilence (sampleRate: number, ms: number): Buffer {
  const data = pcmSilence(sampleRate, ms)
  const h = Buffer.alloc(44)
  h.write('RIFF', 0, 'ascii')
  h.writeUInt32LE(36 + data.length, 4)
  h.write('WAVE', 8, 'ascii')
  h.write('fmt ', 12, 'ascii')
  h.writeUInt32LE(16, 16) // fmt chunk size
  h.writeUInt16LE(1, 20) // PCM
  h.writeUInt16LE(1, 22) // mono
  h.writeUInt32LE(sampleRate, 24)
  h.writeUInt32LE(sampleRate * 2, 28) // byte rate
  h.writeUInt16LE(2, 32) // block align
  h.writeUInt16LE(16, 34) // bits per sample
  h.write('data', 36, 'ascii')
  h.writeUInt32LE(data.length, 40)
  return Buffer.concat([h, data])
}

// MPEG audio Layer III, mono, 32 kbit/s, no CRC. The version follows the sample rate:
// MPEG-1 (32/44.1/48 kHz), MPEG-2 (16/22.05/24 kHz), MPEG-2.5 (8/11.025/12 kHz).
const MPEG: Record<number, { version: number; srIndex: number; bitrateIndex: number; samplesPerFrame: number; coef: number; sideInfo: number }> = {
  44100: { version: 0b11, srIndex: 0, bitrateIndex: 1, samplesPerFrame: 1152, coef: 144, sideInfo: 17 },
  48000: { version: 0b11, srIndex: 1, bitrateIndex: 1, samplesPerFrame: 1152, coef: 144, sideInfo: 17 },
  32000: { version: 0b11, srIndex: 2, bitrateIndex: 1, samplesPerFrame: 1152, coef: 144, sideInfo: 17 },
  22050: { version: 0b10, srIndex: 0, bitrateIndex: 4, samplesPerFrame: 576, coef: 72, sideInfo: 9 },
  24000: { version: 0b10, srIndex: 1, bitrateIndex: 4, samplesPerFrame: 576, coef: 72, sideInfo: 9 },
  16000: { version: 0b10, srIndex: 2, bitrateIndex: 4, samplesPerFrame: 576, coef: 72, sideInfo: 9 },
  8000: { version: 0b00, srIndex: 2, bitrateIndex: 4, samplesPerFrame: 576, coef: 72, sideInfo: 9 }
}
export const MP3_BITRATE = 32_000

/**
 * MP3 frames of silence: a valid header (frame sync 0xFFE/0xFFF) and all-zero side info and main
 * data, which decoders play as silence. Padding slots keep 22.05/44.1 kHz frames on time.
 */
export function mp3Silence (sampleRate: number, ms: number): Buffer {
  const m = MPEG[sampleRate]
  if (!m) throw new Error(`no MPEG sample rate ${sampleRate}`)
  const frames = Math.max(1, Math.ceil(samplesOf(sampleRate, ms) / m.samplesPerFrame))
  const exact = m.coef * MP3_BITRATE / sampleRate
  const base = Math.floor(exact)
  const out: Buffer[] = []
  let carry = 0
  for (let i = 0; i < frames; i++) {
    carry += exact - base
    const padding = carry >= 1 ? 1 : 0
    carry -= padding
    const frame = Buffer.alloc(base + padding)
    // 11 sync bits, version, layer III (01), protection bit 1 = no CRC
    frame[0] = 0xff
    frame[1] = 0xe0 | (m.version << 3) | (0b01 << 1) | 1
    frame[2] = (m.bitrateIndex << 4) | (m.srIndex << 2) | (padding << 1)
    frame[3] = 0b11 << 6 // mono; no mode extension, copyright, original or emphasis
    out.push(frame)
  }
  return Buffer.concat(out)
}

// Ogg Opus (RFC 7845): OpusHead and OpusTags pages, then 20 ms CELT silence packets.
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe])
const OPUS_FRAME_SAMPLES = 960 // 20 ms at 48 kHz, the Opus granule clock
const OPUS_PRE_SKIP = 312
const PACKETS_PER_PAGE = 50

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let r = i << 24
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1
    t[i] = r >>> 0
  }
  return t
})()

/** Ogg's CRC-32: polynomial 0x04C11DB7, not reflected, initial value 0. */
export function oggCrc (data: Buffer): number {
  let crc = 0
  for (const b of data) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0
  return crc >>> 0
}

function oggPage (packets: Buffer[], granule: bigint, serial: number, seq: number, flags: number): Buffer {
  const lacing: number[] = []
  for (const p of packets) {
    let n = p.length
    while (n >= 255) { lacing.push(255); n -= 255 }
    lacing.push(n)
  }
  const head = Buffer.alloc(27 + lacing.length)
  head.write('OggS', 0, 'ascii')
  head[4] = 0
  head[5] = flags
  head.writeBigInt64LE(granule, 6)
  head.writeUInt32LE(serial, 14)
  head.writeUInt32LE(seq, 18)
  head[26] = lacing.length
  Buffer.from(lacing).copy(head, 27)
  const page = Buffer.concat([head, ...packets])
  page.writeUInt32LE(oggCrc(page), 22)
  return page
}

export function oggOpusSilence (sampleRate: number, ms: number): Buffer {
  const serial = 0x436f7a65 // "Coze"
  const opusHead = Buffer.alloc(19)
  opusHead.write('OpusHead', 0, 'ascii')
  opusHead[8] = 1 // version
  opusHead[9] = 1 // mono
  opusHead.writeUInt16LE(OPUS_PRE_SKIP, 10)
  opusHead.writeUInt32LE(sampleRate, 12) // the input rate, informational
  const vendor = Buffer.from('coze-emulator')
  const opusTags = Buffer.alloc(8 + 4 + vendor.length + 4)
  opusTags.write('OpusTags', 0, 'ascii')
  opusTags.writeUInt32LE(vendor.length, 8)
  vendor.copy(opusTags, 12)
  const pages = [oggPage([opusHead], 0n, serial, 0, 0x02), oggPage([opusTags], 0n, serial, 1, 0)]
  const total = Math.max(1, Math.ceil(ms / 20))
  let done = 0
  let seq = 2
  while (done < total) {
    const n = Math.min(PACKETS_PER_PAGE, total - done)
    done += n
    const last = done === total
    const granule = BigInt(OPUS_PRE_SKIP + done * OPUS_FRAME_SAMPLES)
    pages.push(oggPage(Array.from({ length: n }, () => OPUS_SILENCE), granule, serial, seq++, last ? 0x04 : 0))
  }
  return Buffer.concat(pages)
}
