import { closeOnSignals, startEmulator } from './index.js'
import { parsePaceDeltas } from './pacing.js'

const port = Number(process.env.EMULATOR_PORT ?? 2027)
const token = process.env.EMULATOR_TOKEN

const emu = await startEmulator({
  port,
  host: process.env.EMULATOR_HOST ?? '127.0.0.1',
  tokens: token ? [token] : undefined,
  paceDeltas: parsePaceDeltas(process.env.EMULATOR_PACE_DELTAS),
  http2: process.env.EMULATOR_HTTP2 === 'true'
})

process.stdout.write(`Coze emulator listening on ${emu.url}\ntoken: ${emu.token}\n`)

closeOnSignals(emu)
