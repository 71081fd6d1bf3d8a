// `npm run build`: dist/ as ES module bundles made by esbuild (a start reads a few files,
// not the several hundred of node_modules one by one: BENCHMARKS.md, "Cold start").
//   node scripts/build.mjs [--outdir DIR]      (default dist/; the tests build elsewhere)
//   BUILD_META=meta.json …                     also writes esbuild's metafile: what each file holds
// `npm run typecheck` checks the types; `npm run build:tsc` is the unbundled build
// (README, "Debugging the bundle").
/* global process, console */
import { rmSync, writeFileSync } from 'node:fs'
import { build } from 'esbuild'

const at = process.argv.indexOf('--outdir')
const outdir = at === -1 ? 'dist' : process.argv[at + 1]
if (!outdir) throw new Error('--outdir needs a directory')

// Loaded from node_modules at run time, never bundled:
const external = [
  // native (its .node binary, found relative to its own package)
  'better-sqlite3',
  // only with REDIS_URL or SESSION_STORE=redis (imported lazily)
  'ioredis',
  // serves Swagger UI's static files from its own package directory (and its logo by
  // __dirname), loaded on the first /docs request (src/plugins/swagger.ts)
  '@fastify/swagger-ui'
]

rmSync(outdir, { recursive: true, force: true })
const result = await build({
  entryPoints: {
    server: 'src/server.ts',
    // `node dist/access/keys-cli.js` in the Docker image (README, "npm run keys")
    'access/keys-cli': 'src/access/keys-cli.ts',
    // what a script that imports the other entries imports first, for mapped stack traces
    'source-maps': 'src/source-maps.ts',
    // what bench/gateway-variant.mjs imports to build the gateway itself
    app: 'src/app.ts',
    config: 'src/config.ts',
    'coze/client': 'src/coze/client.ts'
  },
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Shared code and what is imported dynamically (the demo's emulator, the Redis store,
  // the playground's file server) become chunks next to server.js, loaded once and only
  // when imported.
  splitting: true,
  chunkNames: '[name]-[hash]',
  external,
  // Bundled CommonJS packages call require() for Node's modules and the externals.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  sourcemap: true,
  // file and line are what a stack trace needs; the sources stay in src/ (a smaller map loads faster)
  sourcesContent: false,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: Boolean(process.env.BUILD_META)
})
if (result.metafile) writeFileSync(process.env.BUILD_META, JSON.stringify(result.metafile))
console.log(`built ${outdir}/ (server.js, access/keys-cli.js and chunks, with source maps)`)
