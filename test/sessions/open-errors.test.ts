// The session database does not open: the start-up line says what to fix, the file or the
// native module (an interrupted `npm install`, or a Node upgrade since it ran).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { sqliteOpenError } from '../../src/sessions/index.js'

const require = createRequire(import.meta.url)
const dir = mkdtempSync(path.join(os.tmpdir(), 'sqlite-open-'))
afterAll(() => { rmSync(dir, { recursive: true, force: true }) })

/** The error a call throws (these are the real errors of `bindings` and of Node's loader). */
function thrown (fn: () => unknown): unknown {
  try { fn() } catch (err) { return err }
  throw new Error('expected a throw')
}

describe('sqliteOpenError', () => {
  it('a missing better-sqlite3 binary: names the module and the rebuild, not the database path, in one line', () => {
    const err = thrown(() => require('bindings')({ bindings: 'better_sqlite3.node', module_root: dir }))
    const msg = sqliteOpenError('./data/sessions.db', err).message
    expect(msg).toContain('better-sqlite3\'s native module does not load')
    expect(msg).toContain('Could not locate the bindings file')
    expect(msg).toContain('npm rebuild better-sqlite3')
    expect(msg).toContain('SESSION_STORE=memory')
    expect(msg).not.toContain('\n')
    expect(msg).not.toContain('SESSION_DB_PATH')
  })

  it('a binary that does not load in this Node (ERR_DLOPEN_FAILED)', () => {
    const file = path.join(dir, 'better_sqlite3.node')
    writeFileSync(file, 'not a shared object')
    const err = thrown(() => process.dlopen({ exports: {} }, file))
    expect((err as NodeJS.ErrnoException).code).toBe('ERR_DLOPEN_FAILED')
    const msg = sqliteOpenError('./data/sessions.db', err).message
    expect(msg).toContain(`in Node ${process.version}`)
    expect(msg).toContain('npm rebuild better-sqlite3')
  })

  it('a path the gateway cannot write: names SESSION_DB_PATH and the path', () => {
    const err = Object.assign(new Error('unable to open database file'), { code: 'SQLITE_CANTOPEN' })
    const msg = sqliteOpenError('/dev/null/sessions.db', err).message
    expect(msg).toBe('Invalid configuration: SESSION_DB_PATH: cannot open the session database "/dev/null/sessions.db" ' +
      '(SQLITE_CANTOPEN: unable to open database file). Point SESSION_DB_PATH at a file in a folder the gateway can write ' +
      '(in Docker: a volume writable by the node user), or set SESSION_STORE=memory.')
  })
})
