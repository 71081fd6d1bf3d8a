// undici, for code that loads it on first use rather than at start (cold start):
// `await import('./undici.js')`. In the bundle, a dynamic import of undici itself (a CommonJS
// package) would give only its `default`; this module gives the named exports everywhere.
export { Agent, EnvHttpProxyAgent, request } from 'undici'
