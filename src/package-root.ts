// The package's root directory (package.json, playground/, node_modules/), found from
// this file, which sits in src/ (tsx), in dist/ (tsc) or in one of the bundle's files.
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot (from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) return dirname(from)
  }
}

export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))
