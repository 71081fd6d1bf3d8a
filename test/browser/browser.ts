// A real Chromium (Debian's /usr/bin/chromium, driven by playwright-core) against a
// gateway on the emulator. No downloaded browser build: without chromium, tests fail
// with a message naming the package, they do not skip.
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { onTestFinished } from 'vitest'
import { startStack, type Stack } from '../helpers/stack.js'
import type { EmulatorOptions } from '../../src/emulator/index.js'
import { launchChromium } from './chromium.js'

export { launchChromium } from './chromium.js'

export interface Playground {
  stack: Stack
  browser: Browser
  /** http://127.0.0.1:<port> */
  origin: string
  /**
   * A fresh context (empty storage) and page on /playground, closed when the test ends;
   * a failed test leaves a full-page screenshot in os.tmpdir() (the path is printed).
   */
  open (opts?: { width?: number, height?: number, path?: string }): Promise<PageHandle>
  close (): Promise<void>
}

export interface PageHandle {
  page: Page
  context: BrowserContext
  /** Uncaught page errors and console errors (CSP violations show up here). */
  problems: string[]
}

export async function startPlayground (env: Record<string, string> = {}, emuOpts: EmulatorOptions = {}): Promise<Playground> {
  const stack = await startStack({ SESSION_STORE: 'memory', ...env }, emuOpts)
  let browser: Browser | undefined
  try {
    await stack.app.listen({ port: 0, host: '127.0.0.1' })
    browser = await launchChromium()
  } catch (err) {
    await browser?.close()
    await stack.close()
    throw err
  }
  const origin = `http://127.0.0.1:${(stack.app.server.address() as { port: number }).port}`
  const contexts = new Set<BrowserContext>()
  const b = browser
  return {
    stack,
    browser: b,
    origin,
    async open ({ width = 1280, height = 900, path = '/playground' } = {}) {
      const context = await b.newContext({ viewport: { width, height } })
      contexts.add(context)
      const page = await context.newPage()
      page.setDefaultTimeout(10_000)
      const problems: string[] = []
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`))
      page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`) })
      onTestFinished(async ({ task }) => {
        if (task.result?.state === 'fail') {
          const file = join(tmpdir(), `playground-failure-${task.name.replace(/\W+/g, '-').slice(0, 60)}-${Date.now()}.png`)
          await page.screenshot({ path: file, fullPage: true }).then(() => console.error(`screenshot of the failure: ${file}`), () => {})
        }
        contexts.delete(context)
        await context.close().catch(() => {})
      })
      await page.goto(origin + path)
      await page.waitForSelector('body[data-ready="true"]')
      return { page, context, problems }
    },
    async close () {
      for (const c of contexts) await c.close().catch(() => {})
      await b.close()
      await stack.close()
    }
  }
}
