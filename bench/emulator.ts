// The Coze emulator in its own process, for the benchmark (its CPU and memory never
// count in the gateway's). EMULATOR_TOKEN; prints {"ready":true,"url":…,"token":…}.
import { closeOnSignals, startEmulator } from '../src/emulator/index.js'

const emu = await startEmulator({
  port: Number(process.env.EMULATOR_PORT ?? 0),
  tokens: process.env.EMULATOR_TOKEN ? [process.env.EMULATOR_TOKEN] : undefined,
  // a 10 MB upload per round: keep a few, not every one
  maxFileBytes: 32 * 1024 * 1024,
  // its port also speaks h2c: scenario 3's gateway runs with COZE_HTTP2=true (the open-file limit)
  http2: true
})
console.log(JSON.stringify({ ready: true, url: emu.url, token: emu.token }))

closeOnSignals(emu)
