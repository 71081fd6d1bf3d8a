// The access-control part of the configuration, built once at start: the keys and the
// allow-lists. A mistake stops the start with one line that says what to fix.
import { ConfigError } from '../config.js'
import { KeyFileError, KeyRing } from './keys.js'

export interface AccessConfig {
  keys: KeyRing
  /** ALLOWED_BOT_IDS; undefined: every bot */
  allowedBots: ReadonlySet<string> | undefined
  /** ALLOWED_WORKFLOW_IDS; undefined: every workflow */
  allowedWorkflows: ReadonlySet<string> | undefined
}

interface AccessEnv {
  GATEWAY_KEYS_FILE: string
  GATEWAY_API_KEYS: string
  ALLOWED_BOT_IDS: string
  ALLOWED_WORKFLOW_IDS: string
}

function idSet (text: string): ReadonlySet<string> | undefined {
  const ids = text.split(',').map((s) => s.trim()).filter(Boolean)
  return ids.length ? new Set(ids) : undefined
}

export function loadAccess (env: AccessEnv): AccessConfig {
  let keys: KeyRing
  try {
    keys = KeyRing.load(env.GATEWAY_KEYS_FILE, env.GATEWAY_API_KEYS)
  } catch (err) {
    if (err instanceof KeyFileError) throw new ConfigError(`Invalid configuration: ${err.message}`)
    throw err
  }
  return { keys, allowedBots: idSet(env.ALLOWED_BOT_IDS), allowedWorkflows: idSet(env.ALLOWED_WORKFLOW_IDS) }
}
