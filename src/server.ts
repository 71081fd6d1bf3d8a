// Entry point: load config, (demo) start the built-in Coze emulator, build the app,
// listen, and close gracefully on SIGTERM/SIGINT.
import dotenv from 'dotenv'
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { DEMO_BOT_ID } from './demo.js'

dotenv.config({ quiet: true })

async function main (): Promise<void> {
  const demo = process.argv.includes('--demo') || process.env.DEMO === 'true'
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) { console.error(err.message); process.exit(1) }
    throw err
  }

  let closeEmulator: (() => Promise<void>) | undefined
  if (demo) {
    // Loaded only in demo mode, so production never ships the emulator on its path.
    const { startEmulator } = await import('./emulator/index.js')
    const emu = await startEmulator()
    closeEmulator = () => emu.close()
    config = { ...config, COZE_API_BASE: emu.url, COZE_API_TOKEN: emu.token, COZE_BOT_ID: config.COZE_BOT_ID || DEMO_BOT_ID, upstreamMode: 'emulator' }
  } else if (!config.COZE_API_TOKEN) {
    console.error('COZE_API_TOKEN is not set: the gateway needs a Coze personal access token to call Coze.\n' +
      'Set COZE_API_TOKEN (see .env.example), or run `npm run demo` to start on the built-in Coze emulator with no token.')
    process.exit(1)
  }

  const app = await buildApp(config).catch((err: unknown) => {
    if (err instanceof ConfigError) { console.error(err.message); process.exit(1) }
    throw err
  })
  if (demo) app.log.warn({ upstream: config.COZE_API_BASE, default_bot_id: config.COZE_BOT_ID }, 'DEMO MODE: answers come from the built-in Coze emulator, not from Coze')

  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
    await closeEmulator?.()
  })

  await app.listen({ host: config.HOST, port: config.PORT })
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
