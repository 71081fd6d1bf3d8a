// POST /api/v1/auth/token: token vending for trusted backends. Mints a short-lived Coze
// access token, restricted to some bots and isolated to one end user, for a frontend that
// talks to Coze directly. Needs an OAuth JWT app and a gateway key with the `vend` scope.
import { Type } from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ok } from '../envelope.js'
import { errors } from '../errors.js'
import { vendToken } from '../coze/vend.js'
import { requireGatewayKeys } from '../plugins/require-scope.js'
import { Envelope, ErrorRef, Timestamp, UpstreamErrors } from '../schemas/common.js'
import { isoFromUnix } from '../time.js'
import { USER_ID } from '../schemas/sessions.js'

const VendBody = Type.Object({
  bot_ids: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { minItems: 1, maxItems: 100, description: 'The bots the token may chat with (ids, or COZE_MODEL_MAP aliases)' }),
  user_id: Type.Optional(USER_ID),
  ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, description: 'Lifetime in seconds; at most COZE_VEND_MAX_TTL (default and bound)' }))
})

const VendData = Type.Object({
  access_token: Type.String({ description: 'The Coze access token: give it to the frontend, never log it' }),
  expires_at: Timestamp,
  expires_in: Type.Integer({ description: 'The same, as Coze\'s OAuth answer names it: unix seconds' }),
  bot_ids: Type.Array(Type.String(), { description: 'The bots it may chat with' })
}, { examples: [{ access_token: 'czs_…', expires_at: '2026-01-01T00:00:00.000Z', expires_in: 1767225600, bot_ids: ['7537334510896185359'] }] })

const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/api/v1/auth/token', {
    onRequest: requireGatewayKeys,
    schema: {
      tags: ['auth'],
      summary: 'Mint a short-lived Coze access token for a frontend (token vending)',
      description: 'Needs an OAuth JWT app and a gateway API key with the `vend` scope; without gateway keys the route does not exist (404). ' +
        'The token may only chat with `bot_ids` (scope `Connector.botChat` with `bot_id_list`), has the end user as its `session_name`, ' +
        'and lives `ttl_seconds`, at most COZE_VEND_MAX_TTL.',
      body: VendBody,
      response: { 200: Envelope(VendData), ...UpstreamErrors, 401: ErrorRef, 403: ErrorRef }
    }
  }, async (request) => {
    const body = request.body
    const userId = body.user_id || app.config.DEFAULT_USER_ID
    if (!userId) throw errors.userIdRequired('send the id of the end user the token is for (it becomes the token\'s session_name)')
    const botIds = body.bot_ids.map((b) => (Object.hasOwn(app.config.modelMap, b) ? app.config.modelMap[b]! : b))
    // A key can only vend what it may use itself: its bots, and the allow-lists.
    for (const botId of botIds) app.access.checkBot(request.principal, botId)
    const vended = await vendToken(app.coze.credentials, { bot_ids: botIds, user_id: userId, ttl_seconds: body.ttl_seconds },
      { maxTtlSeconds: app.config.COZE_VEND_MAX_TTL, keyId: request.principal?.id })
    return ok('Access token minted', { ...vended, expires_at: isoFromUnix(vended.expires_at), expires_in: vended.expires_at })
  })
}

export default authRoutes
