// npm run screenshots: renders the README's two playground screenshots, docs/playground-chat.png
// and docs/playground-workflow.png, from a gateway on the built-in emulator in Debian's chromium.
//   --out <dir>       somewhere else than docs/
//   --dark            prefers-color-scheme: dark (to look at the dark theme)
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { Browser } from 'playwright-core'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { startEmulator } from '../src/emulator/index.js'
import { DEMO_BOT_ID } from '../src/demo.js'
import { launchChromium } from '../test/browser/chromium.js'

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs' }, dark: { type: 'boolean', default: false } } })
const out = resolve(values.out!)
mkdirSync(out, { recursive: true })

// Paced deltas, so that the stats show a real time to first delta.
const emu = await startEmulator({ deltaDelayMs: 20 })
const config = loadConfig({
  SESSION_STORE: 'memory', LOG_LEVEL: 'warn', ENABLE_RATE_LIMIT: 'false',
  COZE_API_BASE: emu.url, COZE_API_TOKEN: emu.token, COZE_BOT_ID: DEMO_BOT_ID
}, { upstreamMode: 'emulator' })
const app = await buildApp(config, { logger: false })
let browser: Browser | undefined
try {
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  browser = await launchChromium()
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: values.dark ? 'dark' : 'light' })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  await page.goto(`${origin}/playground`)
  await page.waitForSelector('body[data-ready="true"]')
  await page.getByTestId('user-id').fill('ada')

  const answered = (n: number) => page.locator('[data-role="assistant"][data-state="complete"]').nth(n - 1).waitFor()
  const ask = async (text: string) => { await page.getByTestId('composer').fill(text); await page.getByTestId('composer').press('Enter') }

  // Chat: a follow-up bot in a first session; then a reasoning bot, two turns, with the raw view on.
  await page.getByTestId('bot-id').fill('bot-followup')
  await page.getByTestId('bot-id').press('Tab')
  await ask('Tell me something')
  await answered(1)
  // another bot: the next message starts a new session (a session keeps its bot)
  await page.getByTestId('bot-id').fill('bot-reasoning')
  await page.getByTestId('bot-id').press('Tab')
  await page.getByTestId('raw-toggle').check()
  await ask('Why is the sky **blue**?')
  await answered(1)
  await ask('And why are sunsets `red`?')
  await answered(2)
  await page.getByTestId('composer').fill('Thanks!')
  await page.screenshot({ path: join(out, 'playground-chat.png') })

  // Workflow: a run stopped at a question, answered from the page.
  await page.getByTestId('raw-toggle').uncheck()
  await page.setViewportSize({ width: 1280, height: 960 })
  await page.getByTestId('workflow-id').fill('wf-interrupt')
  await page.getByTestId('workflow-params').fill('{\n  "topic": "greeting"\n}')
  await page.getByTestId('workflow-run').click()
  await page.getByTestId('resume-input').fill('Ada')
  await page.getByTestId('resume-input').press('Enter')
  await page.waitForSelector('[data-testid="workflow-done"]')
  await page.screenshot({ path: join(out, 'playground-workflow.png') })
  await context.close()
  console.log(`wrote ${join(out, 'playground-chat.png')} and ${join(out, 'playground-workflow.png')}`)
} finally {
  await browser?.close()
  await app.close()
  await emu.close()
}
