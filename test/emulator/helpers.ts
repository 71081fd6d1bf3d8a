import { createSign, generateKeyPairSync } from 'node:crypto'
import { RoleType } from '@coze/api'
import type { EnterMessage } from '@coze/api'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { CozeAPI } from '@coze/api'
import { startEmulator } from '../../src/emulator/index.js'
import type { Emulator } from '../../src/emulator/index.js'

/** 14-digit timestamp + uppercase hex, as the cloud's x-tt-logid */
export const LOGID_RE = /^\d{14}[0-9A-F]{8,}$/

export function user (content: string): EnterMessage {
  return { role: RoleType.User, content, content_type: 'text' }
}

export function assistant (content: string): EnterMessage {
  return { role: RoleType.Assistant, content, content_type: 'text' }
}

/** Iterates an SDK stream to the end; returns what it yielded and what it threw. */
export async function drain<T> (gen: AsyncIterable<T>): Promise<{ events: T[]; error: unknown }> {
  const events: T[] = []
  try {
    for await (const ev of gen) events.push(ev)
    return { events, error: undefined }
  } catch (error) {
    return { events, error }
  }
}

export async function caught (p: Promise<unknown>): Promise<any> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

/** Event names, with every delta collapsed to `delta`. */
export function names (events: Array<{ event: string }>): string[] {
  return events.map((e) => e.event === 'conversation.message.delta' ? 'delta' : e.event)
}

export async function waitFor (cond: () => boolean, ms = 500): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** A raw HTTP call, for checks the SDK would hide (framing, headers, status). */
export async function raw (emu: Emulator, method: string, path: string, body?: unknown, token: string | null = emu.token): Promise<{ status: number; headers: Headers; text: string }> {
  const headers: Record<string, string> = {}
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(emu.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

/** One emulator and an SDK client on it for the whole file; faults cleared after each test. */
export function useEmulator (ready: (emu: Emulator, coze: CozeAPI) => void): void {
  let emu: Emulator | undefined
  beforeAll(async () => {
    emu = await startEmulator()
    ready(emu, new CozeAPI({ token: emu.token, baseURL: emu.url }))
  })
  afterEach(() => emu?.faults.clear())
  afterAll(async () => { await emu?.close() })
}

/** Signs an RS256 JWT with node:crypto, so tests can send exactly the claims they want. */
export function signJwt (privateKey: string, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  const head = enc({ alg: 'RS256', typ: 'JWT', ...header })
  const body = enc(payload)
  const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(privateKey).toString('base64url')
  return `${head}.${body}.${sig}`
}

/** A fresh RSA key pair in PEM (SPKI public, PKCS#8 private), as the Coze console hands out. */
export function rsaKeyPair (): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' }
  })
}
