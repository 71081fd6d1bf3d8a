import type { Ctx, RouteDef } from './runtime.js'
import { fileView } from './state.js'
import { badRequest, notFound } from './errors.js'
import { sendOk } from './respond.js'

function upload (ctx: Ctx): void {
  const up = ctx.upload
  if (!up) throw badRequest('multipart/form-data with a part named "file" is required')
  // A Buffer sent by the SDK has no filename; the cloud still names it.
  const file = ctx.rt.store.files.add(up.fileName || 'file', up.contentType, up.data)
  sendOk(ctx.res, ctx.logid, fileView(file), ctx.fault)
}

function retrieve (ctx: Ctx): void {
  const id = ctx.query.file_id
  if (!id) throw badRequest('file_id is required')
  const file = ctx.rt.store.files.get(id)
  if (!file) throw notFound(`file ${id} not found`)
  sendOk(ctx.res, ctx.logid, fileView(file), ctx.fault)
}

export const fileRoutes: RouteDef[] = [
  { method: 'POST', path: '/v1/files/upload', handler: upload, upload: true },
  { method: 'GET', path: '/v1/files/retrieve', handler: retrieve }
]
