// Gateway keys for tests: a keys file in a temp dir, written from raw keys and their policies.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashKey, type KeyEntry } from '../../src/access/keys.js'

export type TestKey = Omit<KeyEntry, 'hash' | 'name'> & { name?: string, raw: string }

export interface KeysFile { path: string, close (): void }

/** Writes {"keys": [...]} with the hashes of the raw keys given. */
export function writeKeysFile (keys: TestKey[]): KeysFile {
  const dir = mkdtempSync(join(tmpdir(), 'gw-keys-'))
  const path = join(dir, 'keys.json')
  const entries = keys.map(({ raw, ...k }) => ({ name: k.id, ...k, hash: hashKey(raw) }))
  writeFileSync(path, JSON.stringify({ keys: entries }))
  return { path, close: () => rmSync(dir, { recursive: true, force: true }) }
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
