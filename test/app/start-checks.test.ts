// Starting the gateway the ways the README says, when the build is missing, stale, or
// runs without dev dependencies (the Docker image): one line that says what to do.
import { execFile, spawnSync } from 'node:child_process'
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'

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
  it('names `node dist/server.js --demo` in the no-token hint, since `npm run demo` does not exist there', async () => {
    const t = tmp()
    // the production build (npm run build): the bundle, whose externals come from node_modules
    await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--outdir', join(t, 'dist')], { cwd: ROOT })
    cpSync(join(ROOT, 'package.json'), join(t, 'package.json'))
    // the production packages only: every package, but no tsx and no .bin
    mkdirSync(join(t, 'node_modules'))
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      if (name !== '.bin' && name !== 'tsx') symlinkSync(join(ROOT, 'node_modules', name), join(t, 'node_modules', name))
    }
    const r = spawnSync('node', ['dist/server.js'], { cwd: t, env: { ...ENV, COZE_API_TOKEN: '' }, encoding: 'utf8', timeout: 30_000 })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('COZE_API_TOKEN')
    expect(r.stderr).toContain('`node dist/server.js --demo`')
    expect(r.stderr).not.toContain('npm run demo')
  }, 120_000)
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
