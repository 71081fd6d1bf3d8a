// Swagger UI at /docs in a real browser (Debian chromium): what a user sees and tries out.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { launchChromium, type Browser } from '../helpers/chromium.js'
import { startStack, type Stack } from '../helpers/stack.js'

describe('Swagger UI', () => {
  let s: Stack
  let browser: Browser
  let page: Page
  beforeAll(async () => {
    s = await startStack({ SESSION_STORE: 'memory' })
    const url = await s.app.listen({ host: '127.0.0.1', port: 0 })
    browser = await launchChromium()
    page = await browser.context.newPage()
    await page.goto(`${url}/docs`)
    await page.waitForSelector('.opblock', { timeout: 20_000 })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await s?.close()
  })

  it('shows real answer examples, never additionalProp1, also where the answer has free-form fields', async () => {
    // data with records (features, meta_data, custom_variables), free-form objects, the envelope's extras
    for (const id of ['system-getConfig', 'chat-chat', 'conversations-createConversation', 'openai-createChatCompletion', 'workflows-runWorkflow']) {
      const op = page.locator(`#operations-${id}`)
      await op.locator('.opblock-summary-control').click()
      await op.locator('.responses-wrapper').waitFor({ timeout: 20_000 })
      const text = await op.locator('.responses-wrapper').innerText()
      expect(text, id).toContain('"code": ')
      expect(text, id).not.toContain('additionalProp')
    }
  }, 60_000)

  it('uploads a file with Try it out → Execute', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coze-gw-ui-'))
    try {
      const file = join(dir, 'notes.txt')
      writeFileSync(file, 'hello from Swagger UI')
      const op = page.locator('#operations-files-uploadFile')
      if (!(await op.locator('.try-out__btn').isVisible())) await op.locator('.opblock-summary-control').click()
      await op.locator('.try-out__btn').click()
      await op.locator('input[type=file]').setInputFiles(file)
      await op.locator('button.execute').click()
      const body = op.locator('.live-responses-table .response-col_description pre').first()
      await body.waitFor({ timeout: 20_000 })
      const answer = JSON.parse(await body.innerText())
      expect(answer).toMatchObject({ success: true, data: { file_name: 'notes.txt', bytes: 21 } })
      expect(answer.file_id).toBe(answer.data.file_id)
    } finally { rmSync(dir, { recursive: true, force: true }) }
  }, 60_000)
})
