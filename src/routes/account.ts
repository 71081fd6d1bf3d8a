// The Coze account behind the gateway token: user info, workspaces, connection test.
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { GatewayError } from '../errors.js'
import { getMe, listWorkspaces } from '../coze/account.js'
import { Envelope, ErrorRef, PageNum, PageSize, Timestamp, UpstreamErrors } from '../schemas/common.js'
import { errorBody } from '../wires/api.js'
import { upstreamOptions } from '../plugins/request-context.js'

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
  }, async (request, reply) => {
    let logid: string | null = null
    const me = await getMe(app.coze, { ...upstreamOptions(request, reply), onLogid: (l) => { logid = l; reply.onLogid(l) } })
    return ok('User info retrieved successfully', { ...me, logid, response_logid: logid })
  })

  app.get('/api/v1/workspaces', {
    schema: {
      tags: ['account'],
      summary: 'Workspaces of the Coze account, paged',
      querystring: Type.Object({
        page_num: PageNum(),
        page_size: PageSize(50)
      }),
      response: { 200: Envelope(Type.Array(Workspace), { pagination: Pagination }), ...UpstreamErrors }
    }
  }, async (request, reply) => {
    const { page_num: pageNum, page_size: pageSize } = request.query
    const { items, total } = await listWorkspaces(app.coze, { page_num: pageNum, page_size: pageSize }, upstreamOptions(request, reply))
    return ok('Workspaces retrieved successfully', items, { pagination: { page_num: pageNum, page_size: pageSize, total_count: total, has_more: pageNum * pageSize < total } })
  })

  app.get('/api/v1/test/connection', {
    schema: {
      tags: ['account'],
      summary: 'Checks the gateway token against Coze (users/me)',
      description: 'On failure: success=false, the reason, the mapped HTTP status (502 token rejected, 503 unreachable, 504 timeout), and data.connected=false.',
      response: { 200: Envelope(ConnectionData), 502: ErrorRef, 503: ErrorRef, 504: ErrorRef }
    }
  }, async (request, reply) => {
    const started = performance.now()
    const latency = () => Math.round(performance.now() - started)
    try {
      const me = await getMe(app.coze, { clock: request.observation })
      app.upstream.report()
      return ok('Connection test successful', { connected: true, user_id: me.user_id, latency_ms: latency(), timestamp: new Date().toISOString() })
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err
      app.upstream.report(err)
      if (err.logid) void reply.header('x-coze-logid', err.logid)
      return reply.code(err.statusCode as 502).send(errorBody(err.withMessage(`Connection test failed: ${err.message}`),
        { connected: false, user_id: null, latency_ms: latency(), timestamp: new Date().toISOString() }))
    }
  })
}

export default accountRoutes
