// Starting the gateway the ways the README says, when the build is missing, stale, or
// runs without dev dependencies (the Docker image): one line that says what to do; and
// the production bundle itself, run as the image runs it.
import { execFile, spawnSync } from 'node:child_process'
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { pathToFileURL } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { outputOf, spawnGroup, stopAllGroups, stopGroup } from '../helpers/processes.js'

const ROOT = resolve('.')
const dirs: string[] = []
function tmp (): string {
  const d = mkdtempSync(join(tmpdir(), 'coze-gw-start-'))
  dirs.push(d)
  return d
}
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

const ENV = { PATH: process.env.PATH, HOME: process.env.HOME }

describe('npm start', () => {
  it('before `npm run build`: says to run the build first, no MODULE_NOT_FOUND stack', () => {
    const t = tmp()
    cpSync(join(ROOT, 'package.json'), join(t, 'package.json'))
    cpSync(join(ROOT, 'scripts'), join(t, 'scripts'), { recursive: true })
    const r = spawnSync('npm', ['start', '--silent'], { cwd: t, env: ENV, encoding: 'utf8' })
    const out = r.stdout + r.stderr
    expect(r.status).not.toBe(0)
    expect(out).toContain('run `npm run build` first')
    expect(out).not.toContain('MODULE_NOT_FOUND')
    expect(out).not.toMatch(/\n\s+at /) // no stack trace
  })
})

describe('the build without dev dependencies (as in the Docker image)', () => {
  // the production build (npm run build: the bundle, whose externals come from
  // node_modules) in a directory laid out as the image is: package.json, dist/,
  // playground/, and every package but tsx and .bin
  let t: string
  beforeAll(async () => {
    t = mkdtempSync(join(tmpdir(), 'coze-gw-image-'))
    await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--outdir', join(t, 'dist')], { cwd: ROOT, env: { ...process.env, BUILD_META: join(t, 'meta.json') } })
    cpSync(join(ROOT, 'package.json'), join(t, 'package.json'))
    symlinkSync(join(ROOT, 'playground'), join(t, 'playground'))
    mkdirSync(join(t, 'node_modules'))
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (name !== '.bin' && name !== 'tsx') symlinkSync(join(ROOT, 'node_modules', name), join(t, 'node_modules', name))
    }
  }, 120_000)
  afterAll(async () => {
    await stopAllGroups()
    rmSync(t, { recursive: true, force: true })
  })

  it('names `node dist/server.js --demo` in the no-token hint, since `npm run demo` does not exist there', () => {
    const r = spawnSync('node', ['dist/server.js'], { cwd: t, env: { ...ENV, COZE_API_TOKEN: '' }, encoding: 'utf8', timeout: 30_000 })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('COZE_API_TOKEN')
    expect(r.stderr).toContain('`node dist/server.js --demo`')
    expect(r.stderr).not.toContain('npm run demo')
  })

  it('`node dist/server.js --demo`: the emulator chunk, Swagger UI from node_modules, the playground, the session database', async () => {
    const child = spawnGroup(process.execPath, ['dist/server.js', '--demo'], {
      cwd: t,
      env: { ...ENV, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SESSION_DB_PATH: join(t, 'sessions.db') },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const output = outputOf(child)
    try {
      const url = (await output.until(/Demo gateway ready at (http:\/\/\S+) /))[1]!
      expect(((await (await fetch(`${url}/health`)).json()) as any).upstream.mode).toBe('emulator')
      const chat = await (await fetch(`${url}/api/v1/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u', messages: [{ role: 'user', content: 'hi' }] }) })).json() as any
      expect(chat).toMatchObject({ success: true, data: { status: 'completed' } })
      const ui = await fetch(`${url}/docs/`)
      expect(ui.status).toBe(200)
      expect(await ui.text()).toContain('swagger-ui')
      expect((await fetch(`${url}/docs/static/swagger-ui-bundle.js`)).status).toBe(200)
      expect(((await (await fetch(`${url}/docs/json`)).json()) as any).paths['/api/v1/chat']).toBeDefined()
      const page = await fetch(`${url}/playground/`)
      expect(page.status).toBe(200)
      expect(await page.text()).toBe(readFileSync(join(ROOT, 'playground', 'index.html'), 'utf8'))
    } finally {
      await stopGroup(child)
    }
    expect(output.text()).not.toMatch(/"level":(50|60)/) // no error logged
  }, 60_000)

  it('a start loads neither the Coze SDK, axios nor undici: they come with the first Coze call (cold start)', () => {
    const meta = JSON.parse(readFileSync(join(t, 'meta.json'), 'utf8')) as { outputs: Record<string, { imports: Array<{ path: string, kind: string }>, inputs: Record<string, unknown> }> }
    const key = (f: string) => Object.keys(meta.outputs).find((k) => k.endsWith(f))!
    const atStart = new Set<string>()
    const walk = (f: string) => {
      if (atStart.has(f)) return
      atStart.add(f)
      for (const i of meta.outputs[f]!.imports) if (i.kind === 'import-statement' && meta.outputs[i.path]) walk(i.path)
    }
    walk(key('dist/server.js'))
    const packages = new Set([...atStart].flatMap((f) => Object.keys(meta.outputs[f]!.inputs)).map((i) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(i)?.[1]))
    expect(packages).toContain('fastify')
    expect(packages).not.toContain('@coze/api')
    expect(packages).not.toContain('axios')
    expect(packages).not.toContain('undici')
  })

  it('stack traces name the TypeScript sources (source maps, installed as dist/server.js installs them)', () => {
    const url = (f: string) => JSON.stringify(pathToFileURL(join(t, f)).href)
    const script = `import(${url('dist/source-maps.js')}).then(() => import(${url('dist/config.js')})).then((m) => { try { m.loadConfig({ PORT: 'x' }) } catch (e) { console.log(e.stack) } })`
    const r = spawnSync('node', ['-e', script], { cwd: t, env: ENV, encoding: 'utf8', timeout: 30_000 })
    expect(r.stdout).toContain('Invalid configuration: PORT')
    expect(r.stdout).toMatch(/at (Module\.)?loadConfig \(.*src\/config\.ts:\d+:\d+\)/)
  })

  it('`node dist/access/keys-cli.js` (README: npm run keys in the image)', () => {
    const r = spawnSync('node', ['dist/access/keys-cli.js', 'hash', 'cgw_example'], { cwd: t, env: ENV, encoding: 'utf8', timeout: 30_000 })
    expect(r.status).toBe(0)
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe('run.sh start', () => {
  /** A checkout with a fake `npm` that records its calls and "builds" dist/server.js. */
  function checkout (): { dir: string, calls: () => string[], start: () => void } {
    const t = tmp()
    cpSync(join(ROOT, 'run.sh'), join(t, 'run.sh'))
    mkdirSync(join(t, 'src'))
    mkdirSync(join(t, 'node_modules'))
    mkdirSync(join(t, 'bin'))
    writeFileSync(join(t, 'src', 'server.ts'), '// source\n')
    const npm = join(t, 'bin', 'npm')
    writeFileSync(npm, `#!/bin/sh\necho "$*" >> "${t}/npm-calls"\nmkdir -p "${t}/dist" && echo 'process.exit(0)' > "${t}/dist/server.js"\n`)
    chmodSync(npm, 0o755)
    return {
      dir: t,
      calls: () => { try { return readFileSync(join(t, 'npm-calls'), 'utf8').trim().split('\n').filter(Boolean) } catch { return [] } },
      // the fake server exits at once, so start reports a failure: only the build step matters here
      start: () => { spawnSync('bash', ['run.sh', 'start'], { cwd: t, env: { ...ENV, PATH: `${join(t, 'bin')}:${process.env.PATH}`, PORT: '1' }, encoding: 'utf8', timeout: 30_000 }) }
    }
  }
  const age = (file: string, secondsAgo: number) => { const when = Date.now() / 1000 - secondsAgo; utimesSync(file, when, when) }

  it('builds when dist/ is missing, and rebuilds when src/ is newer than dist/ (after a git pull)', () => {
    const c = checkout()
    c.start()
    expect(c.calls()).toEqual(['run build'])
    // dist newer than src: no build
    age(join(c.dir, 'src', 'server.ts'), 60)
    c.start()
    expect(c.calls()).toEqual(['run build'])
    // a pulled source file is newer: build again
    age(join(c.dir, 'dist', 'server.js'), 30)
    writeFileSync(join(c.dir, 'src', 'new.ts'), '// pulled\n')
    c.start()
    expect(c.calls()).toEqual(['run build', 'run build'])
  })
})
