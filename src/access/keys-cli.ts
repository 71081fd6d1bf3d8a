// npm run keys -- create --name web --scopes chat,sessions --bots 7537…   a new key, shown once, and its entry
// npm run keys -- hash <key>          (or the key on stdin)               the SHA-256 to put in "hash"
// npm run keys -- check [file]        (default GATEWAY_KEYS_FILE)          validates a keys file
// The key and the entry go to stdout; explanations go to stderr.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { generateKey, hashKey, KeyFileError, KeyRing, parseKeysFile, type KeyEntry } from './keys.js'

const USAGE = `Usage:
  npm run keys -- create --name <name> --scopes <chat,sessions,files,workflows,openai,account,vend>
                         [--bots <id,...|*>] [--workflows <id,...|*>] [--rpm N] [--max-streams N]
                         [--daily-tokens N] [--expires-at <ISO 8601>] [--origins <https://site,...>]
                         [--id <id>] [--file <keys.json>]
  npm run keys -- hash [<key>]      (reads the key from stdin when not given)
  npm run keys -- check [<keys.json>]  (default: GATEWAY_KEYS_FILE)`

const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean)
const int = (v: string | undefined) => (v === undefined ? undefined : Number(v))
const fail = (message: string): never => { process.stderr.write(`${message}\n`); process.exit(1) }

function slug (name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'key'
}

function create (argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' }, id: { type: 'string' }, scopes: { type: 'string' }, bots: { type: 'string' },
      workflows: { type: 'string' }, rpm: { type: 'string' }, 'max-streams': { type: 'string' }, 'daily-tokens': { type: 'string' },
      'expires-at': { type: 'string' }, origins: { type: 'string' }, file: { type: 'string' }
    }
  })
  if (!values.name) fail(`--name is required\n${USAGE}`)
  const raw = generateKey()
  const entry: KeyEntry = {
    id: values.id ?? `${slug(values.name!)}-${randomBytes(3).toString('hex')}`,
    name: values.name!,
    hash: hashKey(raw),
    scopes: (list(values.scopes) ?? []) as KeyEntry['scopes']
  }
  const optional: Partial<KeyEntry> = {
    bots: list(values.bots), workflows: list(values.workflows), rpm: int(values.rpm), max_streams: int(values['max-streams']),
    daily_tokens: int(values['daily-tokens']), expires_at: values['expires-at'], origins: list(values.origins)
  }
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (entry as unknown as Record<string, unknown>)[k] = v
  // The same checks as at the gateway's start.
  let existing: KeyEntry[] = []
  try {
    if (values.file && existsSync(values.file)) existing = parseKeysFile(readFileSync(values.file, 'utf8'))
    parseKeysFile(JSON.stringify({ keys: [...existing, entry] }))
  } catch (err) {
    if (err instanceof KeyFileError) fail(`${values.file && existing.length ? `${values.file}: ` : ''}${err.message.replace(/^keys\[\d+\]/, 'the new key')}`)
    throw err
  }
  process.stderr.write('The new key (shown only this once: store it now; the gateway keeps only its hash):\n')
  process.stdout.write(`${raw}\n`)
  if (values.file) {
    writeFileSync(values.file, `${JSON.stringify({ keys: [...existing, entry] }, null, 2)}\n`)
    process.stderr.write(`\nAdded to ${values.file} (restart the gateway to load it):\n`)
  } else {
    process.stderr.write('\nThe entry to paste into the "keys" list of your GATEWAY_KEYS_FILE:\n')
  }
  process.stdout.write(`${JSON.stringify(entry, null, 2)}\n`)
}

async function hash (argv: string[]): Promise<void> {
  let key = argv[0]
  if (key === undefined) {
    const chunks: Buffer[] = []
    for await (const c of process.stdin) chunks.push(c as Buffer)
    key = Buffer.concat(chunks).toString('utf8').trim()
  }
  if (!key) fail(`no key given\n${USAGE}`)
  process.stdout.write(`${hashKey(key)}\n`)
}

function check (argv: string[]): void {
  const file = argv[0] ?? process.env.GATEWAY_KEYS_FILE
  if (!file) fail(`no file given, and GATEWAY_KEYS_FILE is not set\n${USAGE}`)
  try {
    const ring = KeyRing.load(file!, '')
    process.stdout.write(`${file}: ${ring.size} key${ring.size === 1 ? '' : 's'}, all valid (${ring.keys.map((k) => k.id).join(', ')})\n`)
  } catch (err) {
    if (err instanceof KeyFileError) fail(err.message)
    throw err
  }
}

const [command, ...rest] = process.argv.slice(2)
switch (command) {
  case 'create': create(rest); break
  case 'hash': await hash(rest); break
  case 'check': check(rest); break
  default: fail(USAGE)
}
