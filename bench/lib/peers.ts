// The gateway's peers (bench/peers/): the same chat relayed by FastAPI + httpx (the
// original service's stack), a minimal Go net/http relay and a naive Express + fetch
// relay, each in its own process against the same emulator. Their system packages are
// Debian's, installed here when missing (apt-get, as scripts/ensure-system-deps.sh does);
// a peer that cannot be had is reported as "not measured: <why>", never a crash.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, spawnNode, spawnProc, waitForStatus, ROOT, type Proc } from './proc.js'
import { BOT, SCRATCH, type Emu, type Server } from './stack.js'

export type PeerKey = 'fastapi' | 'go' | 'express'

export interface PeerDef { key: PeerKey, label: string, short: string }

export const PEERS: PeerDef[] = [
  { key: 'fastapi', label: 'FastAPI + httpx relay (`bench/peers/fastapi_relay.py`)', short: 'FastAPI + httpx' },
  { key: 'go', label: 'Go net/http relay (`bench/peers/go-relay/`)', short: 'Go relay' },
  { key: 'express', label: 'Express + fetch relay (`bench/peers/express-relay.ts`)', short: 'Express relay' }
]

/** Debian's interpreter: its python3-* packages are not on another python3 (pyenv, venv) in PATH. BENCH_PYTHON, BENCH_GO: other binaries. */
const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3'
const PY_MODULES = ['fastapi', 'uvicorn', 'httpx']
const PY_PACKAGES = ['python3-fastapi', 'python3-uvicorn', 'python3-httpx']
/** The rest of what `pip install fastapi uvicorn[standard] httpx` brings: uvicorn uses uvloop and httptools when present. */
const PY_EXTRAS = ['python3-uvloop', 'python3-httptools']
const GO_PACKAGES = ['golang-go']

export interface PeerStatus {
  /** the peers that can run, with the versions they run on */
  ready: Partial<Record<PeerKey, string>>
  /** why the others cannot */
  missing: Partial<Record<PeerKey, string>>
}

function pythonMissing (): string | undefined {
  const r = spawnSync(PYTHON, ['-c', `import ${PY_MODULES.join(', ')}`], { encoding: 'utf8' })
  if (r.error) return `${PYTHON} not found`
  if (r.status !== 0) return (r.stderr.trim().split('\n').pop() ?? 'import failed')
  return undefined
}

function pythonVersions (): string {
  const code = 'import sys, fastapi, uvicorn, httpx, importlib.util as u\n' +
    'extra = [m for m in ("uvloop", "httptools") if u.find_spec(m)]\n' +
    'print(f"Python {sys.version.split()[0]}, FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__}" + (" with " + " + ".join(extra) if extra else "") + f", httpx {httpx.__version__}")'
  return spawnSync(PYTHON, ['-c', code], { encoding: 'utf8' }).stdout.trim()
}

function goBinary (): string | undefined {
  for (const g of process.env.BENCH_GO ? [process.env.BENCH_GO] : ['go', '/usr/lib/go/bin/go']) {
    const r = spawnSync(g, ['version'], { encoding: 'utf8' })
    if (!r.error && r.status === 0) return g
  }
  return undefined
}

function aptInstall (packages: string[], log: (m: string) => void): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot apt-get install'
  if (spawnSync('apt-get', ['--version']).error) return 'no apt-get on this machine'
  log(`installing ${packages.join(' ')} (apt-get)`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const install = () => execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    install()
  } catch {
    try {
      execFileSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
      install()
    } catch (err) {
      return `apt-get install ${packages.join(' ')} failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n').pop()}`
    }
  }
  return undefined
}

/** Builds the Go relay into the run's scratch dir (os.tmpdir(), never the checkout); returns the binary. */
function buildGo (go: string): string {
  const out = path.join(SCRATCH, 'go-relay')
  const cache = path.join(os.tmpdir(), 'coze-bench-gocache')
  mkdirSync(cache, { recursive: true })
  execFileSync(go, ['build', '-o', out, '.'], {
    cwd: path.join(ROOT, 'bench/peers/go-relay'),
    env: { ...process.env, GOCACHE: cache, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  return out
}

let goRelay: string | undefined

/**
 * Which peers can run. `install`: apt-get what is missing (full runs); without it (smoke
 * runs) a missing package only makes its peer "not measured".
 */
export function preparePeers (opts: { install: boolean, log: (m: string) => void }): PeerStatus {
  const st: PeerStatus = { ready: {}, missing: {} }
  let py = pythonMissing()
  if (py && opts.install) {
    py = aptInstall(PY_PACKAGES, opts.log) ?? pythonMissing()
    if (!py) aptInstall(PY_EXTRAS, opts.log) // best effort: without them uvicorn runs on asyncio and h11
  }
  if (py) st.missing.fastapi = `${PY_PACKAGES.join(', ')} for ${PYTHON}: ${py}`
  else st.ready.fastapi = pythonVersions()

  let go = goBinary()
  if (!go && opts.install) {
    const why = aptInstall(GO_PACKAGES, opts.log)
    go = goBinary()
    if (!go) st.missing.go = why ?? 'golang-go installed, but no go binary found'
  } else if (!go) st.missing.go = 'no Go toolchain (Debian\'s golang-go)'
  if (go) {
    try {
      goRelay = buildGo(go)
      st.ready.go = spawnSync(go, ['version'], { encoding: 'utf8' }).stdout.trim().replace(/^go version /, '')
    } catch (err) {
      st.missing.go = `go build failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n').slice(-3).join(' ')}`
    }
  }
  st.ready.express = `Express ${expressVersion()}, Node ${process.version}`
  return st
}

function expressVersion (): string {
  try {
    return (JSON.parse(execFileSync(process.execPath, ['-p', 'JSON.stringify(require("express/package.json"))'], { cwd: ROOT, encoding: 'utf8' })) as { version: string }).version
  } catch {
    return '?'
  }
}

/** Starts one peer on a free port against the emulator; resolves once GET /health answers 200. */
export async function startPeer (key: PeerKey, emu: Emu): Promise<Server> {
  const port = await freePort()
  const env = { UPSTREAM_URL: emu.url, UPSTREAM_TOKEN: emu.token, COZE_BOT_ID: BOT, PORT: String(port) }
  let proc: Proc
  // no __pycache__ written into the checkout
  if (key === 'fastapi') proc = spawnProc('fastapi-relay', PYTHON, [path.join(ROOT, 'bench/peers/fastapi_relay.py')], { env: { ...env, PYTHONDONTWRITEBYTECODE: '1' }, manyFiles: true })
  else if (key === 'go') {
    if (!goRelay) throw new Error('the Go relay was not built (preparePeers)')
    proc = spawnProc('go-relay', goRelay, [], { env, manyFiles: true })
  } else proc = spawnNode('express-relay', 'bench/peers/express-relay.ts', [], { ts: true, manyFiles: true, env })
  const url = `http://127.0.0.1:${port}`
  await Promise.race([
    waitForStatus(`${url}/health`, 200, 30_000, 20),
    proc.exited.then((code) => { throw new Error(`${proc.name} exited (${code}):\n${proc.output()}`) })
  ])
  return { name: proc.name, proc, url }
}
