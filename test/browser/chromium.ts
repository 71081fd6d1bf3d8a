// Debian's chromium (/usr/bin/chromium), driven by playwright-core: no downloaded browser
// build. Shared by the browser tests and scripts/playground-screenshots.ts.
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium'

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** Chromium with a fresh profile (playwright-core makes a temp user data dir and removes it on close). */
export async function launchChromium (executablePath = CHROMIUM_PATH): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}. Install Debian's chromium package (bash scripts/ensure-system-deps.sh does) or set CHROMIUM_PATH.`)
  }
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true })
}
