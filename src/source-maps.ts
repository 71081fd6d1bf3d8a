// Stack traces of the bundle (dist/) name the TypeScript sources. source-map-support reads a
// chunk's map on the first stack trace that passes through it; `node --enable-source-maps`
// parses every map at start instead (~35 ms of a cold start). Under tsx, or when Node maps
// stacks itself (--enable-source-maps), nothing is installed.
import sourceMapSupport from 'source-map-support'

if (!process.sourceMapsEnabled) sourceMapSupport.install({ environment: 'node', handleUncaughtExceptions: false })
