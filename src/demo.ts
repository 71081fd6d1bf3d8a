import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The emulator's default bot: the bot id the product docs' examples use, so they run as written in demo mode. */
export const DEMO_BOT_ID = '7537334510896185359'

/**
 * How to start demo mode from here. `npm run demo` runs the sources with tsx, a dev
 * dependency; where dev dependencies are pruned (the Docker image) the build has to be run.
 */
export function demoCommand (tsxInstalled = existsSync(fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url)))): string {
  return tsxInstalled ? '`npm run demo`' : '`node dist/server.js --demo` (or set DEMO=true)'
}
