// `npm start` runs the build in dist/: say what to do when it is missing or older than src/.
/* global process, console */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const entry = 'dist/server.js'
if (!existsSync(entry)) {
  console.error(`${entry} does not exist: run \`npm run build\` first (or \`npm run demo\` to run the sources on the built-in Coze emulator).`)
  process.exit(1)
}

function newest (dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return t
}
if (existsSync('src') && newest('src') > statSync(entry).mtimeMs) {
  console.error(`warning: ${entry} is older than src/: run \`npm run build\` to start the current code.`)
}
