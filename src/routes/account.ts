// The Coze account behind the gateway token: user info, workspaces, connection test.
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok, fail } from '../envelope.js'
import { toGatewayError } from '../coze/errors.js'
import { Envelope, ErrorRef, Timestamp, UpstreamErrors } from '../schemas/common.js'

const UserData = Type.Object({
  user_id: Type.String(),
  user_name: Type.String(),
  nick_name: Type.String(),
  avatar_url: Type.String(),
  logid: Type.Union([Type.String(), Type.Null()], { description: 'The Coze logid of the call' }),
  response_logid: Type.Union([Type.String(), Type.Null()], { description: 'Same as logid (older clients read this name)' })
}, { examples: [{ user_id: '7500000000000000001', user_name: 'demo_user', nick_name: 'Demo', avatar_url: 'https://example.com/a.png', logid: '20250101120000ABCDEF', response_logid: '20250101120000ABCDEF' }] })

const Workspace = Type.Object({
  id: Type.String(),
  name: Type.String(),
  icon_url: Type.String(),
  role_type: Type.String({ description: 'owner, admin or member' }),
  workspace_type: Type.String({ description: 'personal or team' })
}, { examples: [{ id: '7487000000000000001', name: 'Personal', icon_url: 'https://example.com/icon.png', role_type: 'owner', workspace_type: 'personal' }] })

const Pagination = Type.Object({ page_num: Type.Integer(), page_size: Type.Integer(), total_count: Type.Integer(), has_more: Type.Boolean() })

const ConnectionData = Type.Object({
  connected: Type.Boolean(),
  user_id: Type.Union([Type.String(), Type.Null()]),
  latency_ms: Type.Integer(),
  timestamp: Timestamp
}, { examples: [{ connected: true, user_id: '7500000000000000001', latency_ms: 42, timestamp: '2025-01-01T12:00:00.000Z' }] })

const accountRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/api/v1/user/info', {
    schema: { tags: ['account'], summary: 'The Coze account behind the gateway token', response: { 200: Envelope(UserData), ...UpstreamErrors } }
  }, async (_request, reply) => {
    let logid: string | null = null
    const me = await app.coze.api.users.me(app.coze.options({ onLogid: (l) => { logid = l } })).catch((e: unknown) => { throw toGatewayError(e) })
    if (logid) void reply.header('x-coze-logid', logid)
    return ok('User info retrieved successfully', {
      user_id: me.user_id, user_name: me.user_name, nick_name: me.nick_name, avatar_url: me.avatar_url, logid, response_logid: logid
    })
  })

  app.get('/api/v1/workspaces', {
    schema: {
      tags: ['account'],
      summary: 'Workspaces of the Coze account, paged',
      querystring: Type.Object({
        page_num: Type.Integer({ minimum: 1, default: 1 }),
        page_size: Type.Integer({ minimum: 1, maximum: 50, default: 20 })
      }),
      response: { 200: Envelope(Type.Array(Workspace), { pagination: Pagination }), ...UpstreamErrors }
    }
  }, async (request) => {
    const { page_num: pageNum, page_size: pageSize } = request.query
    const res = await app.coze.api.workspaces.list({ page_num: pageNum, page_size: pageSize }, app.coze.options()).catch((e: unknown) => { throw toGatewayError(e) })
    const list = (res.workspaces ?? []).map((w) => ({ id: w.id, name: w.name, icon_url: w.icon_url, role_type: w.role_type, workspace_type: w.workspace_type }))
    const total = res.total_count ?? list.length
    return ok('Workspaces retrieved successfully', list, { pagination: { page_num: pageNum, page_size: pageSize, total_count: total, has_more: pageNum * pageSize < total } })
  })

  app.get('/api/v1/test/connection', {
    schema: {
      tags: ['account'],
      summary: 'Checks the gateway token against Coze (users/me)',
      description: 'On failure: success=false, the reason, the mapped HTTP status (502 token rejected, 503 unreachable, 504 timeout), and data.connected=false.',
      response: { 200: Envelope(ConnectionData), 502: ErrorRef, 503: ErrorRef, 504: ErrorRef }
    }
  }, async (_request, reply) => {
    const started = performance.now()
    const latency = () => Math.round(performance.now() - started)
    try {
      const me = await app.coze.api.users.me(app.coze.options())
      app.upstream.report()
      return ok('Connection test successful', { connected: true, user_id: me.user_id, latency_ms: latency(), timestamp: new Date().toISOString() })
    } catch (err) {
      const e = toGatewayError(err)
      app.upstream.report(e)
      if (e.logid) void reply.header('x-coze-logid', e.logid)
      return reply.code(e.statusCode as 502).send(fail(`Connection test failed: ${e.message}`, e.toEnvelopeExtra(),
        { connected: false, user_id: null, latency_ms: latency(), timestamp: new Date().toISOString() }))
    }
  })
}

export default accountRoutes
