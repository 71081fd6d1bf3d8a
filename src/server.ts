// Entry point: load config, (demo) start the built-in Coze emulator, build the app,
// listen, and close gracefully on SIGTERM/SIGINT.
import './source-maps.js'
import dotenv from 'dotenv'
import type { AddressInfo } from 'node:net'
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { credentialsOf } from './credentials-config.js'
import { DEMO_BOT_ID, demoCommand, demoOAuthApp } from './demo.js'

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
    // --oauth: the gateway runs as an OAuth JWT app, with a key pair made at start.
    const oauth = process.argv.includes('--oauth') ? demoOAuthApp() : undefined
    // Paced deltas (30–80 ms, CJK cut small) so a person sees the answer stream; tests and benchmarks start their emulator unpaced.
    const emu = await startEmulator({ demo: true, ...(oauth ? { oauthApps: [{ appId: oauth.spec.appId, keyId: oauth.spec.keyId, publicKey: oauth.publicKey }] } : {}) })
    closeEmulator = () => emu.close()
    config = {
      ...config,
      COZE_API_BASE: emu.url,
      COZE_API_TOKEN: oauth ? '' : emu.token,
      credentials: oauth ? [oauth.spec] : [],
      COZE_BOT_ID: config.COZE_BOT_ID || DEMO_BOT_ID,
      upstreamMode: 'emulator'
    }
  } else if (credentialsOf(config).length === 0) {
    console.error('COZE_API_TOKEN is not set: the gateway needs Coze credentials to call Coze.\n' +
      'Set COZE_API_TOKEN (a personal access token; COZE_API_TOKENS for several), or an OAuth JWT app with COZE_OAUTH_CONFIG_FILE ' +
      '(or COZE_OAUTH_APP_ID, COZE_OAUTH_KEY_ID and COZE_OAUTH_PRIVATE_KEY) (see .env.example), ' +
      `or run ${demoCommand()} to start on the built-in Coze emulator with no token.`)
    process.exit(1)
  }

  const app = await buildApp(config).catch((err: unknown) => {
    if (err instanceof ConfigError) { console.error(err.message); process.exit(1) }
    throw err
  })
  if (demo) app.log.warn({ upstream: config.COZE_API_BASE, default_bot_id: config.COZE_BOT_ID, auth: app.coze.credentials.mode }, 'DEMO MODE: answers come from the built-in Coze emulator, not from Coze')

  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
    await closeEmulator?.()
  })

  await app.listen({ host: config.HOST, port: config.PORT }).catch(async (err: NodeJS.ErrnoException) => {
    const why = LISTEN_ERRORS[err.code ?? '']
    if (!why) throw err
    console.error(`Invalid configuration: HOST/PORT: cannot listen on ${config.HOST}:${config.PORT} (${err.code}): ${why}.`)
    await closeEmulator?.()
    process.exit(1)
  })
  if (demo) console.log(demoBanner(config.HOST, (app.server.address() as AddressInfo).port))
}

/** Why the gateway could not listen, for the errors a setting causes (not a stack trace). */
const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: 'another process listens on that port; stop it, or set PORT to a free one',
  EACCES: 'ports below 1024 need privileges; set PORT to 1024 or above',
  EADDRNOTAVAIL: 'HOST is not an address of this machine; use 0.0.0.0 (every interface) or 127.0.0.1',
  ENOTFOUND: 'HOST does not resolve; use 0.0.0.0 (every interface), 127.0.0.1 or an address of this machine'
}

/** The one human line of demo mode: where the gateway and its docs are, and a curl to try. */
function demoBanner (host: string, port: number): string {
  const name = ['0.0.0.0', '::', ''].includes(host) ? 'localhost' : host.includes(':') ? `[${host}]` : host
  const url = `http://${name}:${port}`
  const body = JSON.stringify({ user_id: 'demo', messages: [{ role: 'user', content: '你好，请介绍一下自己' }], stream: true })
  return `Demo gateway ready at ${url} (API docs: ${url}/docs). Try: curl -N ${url}/api/v1/chat -H 'Content-Type: application/json' -d '${body}'`
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
