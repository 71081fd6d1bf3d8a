import type { Ctx, RouteDef } from './runtime.js'
import { parseFault } from './faults.js'
import { badRequest } from './errors.js'
import { sendOk } from './respond.js'

/** POST /__emulator/faults: a Fault JSON body, plus optional `path` (string, or `/re/flags`), `times` and `token`. */
function injectFault (ctx: Ctx): void {
  const fault = parseFault(ctx.body)
  if (typeof fault === 'string') throw badRequest(fault)
  const { path, times, token } = ctx.body
  let match: string | RegExp | undefined
  if (typeof path === 'string' && path !== '') {
    const re = /^\/(.+)\/([a-z]*)$/.exec(path)
    if (re && !path.startsWith('/v') && !path.startsWith('/__')) {
      try { match = new RegExp(re[1]!, re[2]) } catch { throw badRequest(`bad path pattern: ${path}`) }
    } else {
      match = path
    }
  }
  if (times !== undefined && (typeof times !== 'number' || !(times > 0))) throw badRequest('times must be a positive number')
  ctx.rt.faults.inject(fault, { path: match, times: times as number | undefined, token: token as string | undefined })
  sendOk(ctx.res, ctx.logid, { fault, path: path ?? null, times: times ?? null, token: token ?? null })
}

function clearFaults (ctx: Ctx): void {
  ctx.rt.faults.clear()
  sendOk(ctx.res, ctx.logid, {})
}

export const controlRoutes: RouteDef[] = [
  { method: 'POST', path: '/__emulator/faults', handler: injectFault, control: true },
  { method: 'DELETE', path: '/__emulator/faults', handler: clearFaults, control: true }
]
