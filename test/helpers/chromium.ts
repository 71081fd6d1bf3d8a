// Debian's chromium driven by playwright-core, for tests that need a real browser.
// Installed by scripts/ensure-system-deps.sh; a missing chromium fails the test, never skips it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'
import { CHROMIUM_ARGS as ARGS, CHROMIUM_PATH as CHROMIUM } from '../browser/chromium.js'

export interface Browser { context: BrowserContext, close (): Promise<void> }

/** A fresh chromium profile in os.tmpdir(), removed on close. */
export async function launchChromium (): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (bash scripts/ensure-system-deps.sh)`)
  const dir = mkdtempSync(join(tmpdir(), 'coze-gw-chromium-'))
  try {
    const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS })
    return {
      context,
      async close () {
        await context.close()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
}
