import { existsSync } from 'node:fs'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { OAuthAppSpec } from './credentials-config.js'
import { PACKAGE_ROOT } from './package-root.js'

/** The emulator's default bot: the bot id the product docs' examples use, so they run as written in demo mode. */
export const DEMO_BOT_ID = '7537334510896185359'

/**
 * How to start demo mode from here. `npm run demo` runs the sources with tsx, a dev
 * dependency; where dev dependencies are pruned (the Docker image) the build has to be run.
 */
export function demoCommand (tsxInstalled = existsSync(join(PACKAGE_ROOT, 'node_modules/.bin/tsx'))): string {
  return tsxInstalled ? '`npm run demo`' : '`node dist/server.js --demo` (or set DEMO=true)'
}

/**
 * `npm run demo -- --oauth`: an OAuth JWT app made up at start. The gateway signs with the
 * private key; the emulator is given the public key (and never sees the private one).
 */
export function demoOAuthApp (): { spec: OAuthAppSpec, publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' }
  })
  const spec: OAuthAppSpec = { kind: 'oauth', appId: '1190000000001', keyId: `demo_${randomBytes(8).toString('hex')}`, privateKey, source: 'demo (--oauth)' }
  return { spec, publicKey }
}
