// The name of each Coze endpoint the gateway calls, for the `endpoint` label of
// coze_gateway_upstream_requests_total. Non-stream calls are named from the request path
// (so a new call is counted without touching its code); a path not listed is `other`.
export type StreamEndpoint = 'chat' | 'tool_outputs' | 'chatflow' | 'workflow_stream' | 'workflow_resume'

const EXACT: Record<string, string> = {
  '/v3/chat': 'chat',
  '/v3/chat/submit_tool_outputs': 'tool_outputs',
  '/v3/chat/cancel': 'chat_cancel',
  '/v3/chat/retrieve': 'chat_retrieve',
  '/v3/chat/message/list': 'chat_messages',
  '/v1/workflows/chat': 'chatflow',
  '/v1/workflow/run': 'workflow_run',
  '/v1/workflow/stream_run': 'workflow_stream',
  '/v1/workflow/stream_resume': 'workflow_resume',
  '/v1/files/upload': 'files_upload',
  '/v1/files/retrieve': 'files_retrieve',
  '/v1/audio/speech': 'audio_speech',
  '/v1/audio/transcriptions': 'audio_transcriptions',
  '/v1/audio/voices': 'audio_voices',
  '/v1/users/me': 'users_me',
  '/v1/workspaces': 'workspaces',
  '/v1/conversation/create': 'conversation_create',
  '/v1/conversation/retrieve': 'conversation_retrieve',
  '/v1/conversations': 'conversations_list',
  '/v1/conversation/message/list': 'messages_list',
  '/v1/conversation/message/create': 'message_create',
  '/v1/bots': 'bots_list',
  '/v1/bot/get_online_info': 'bot_retrieve',
  '/v1/space/published_bots_list': 'bots_list'
}

const PATTERNS: Array<[RegExp, string]> = [
  [/^\/v1\/workflows\/[^/]+\/run_histories\/[^/]+$/, 'workflow_history'],
  [/^\/v1\/conversations\/[^/]+\/clear$/, 'conversation_clear'],
  [/^\/v1\/bots\/[^/]+$/, 'bot_retrieve'],
  [/^\/api\/permission\/oauth2\//, 'oauth_token']
]

/** The endpoint name of a request path (after the base URL; a query is ignored). */
export function endpointOf (path: string | undefined): string {
  if (!path) return 'other'
  const q = path.indexOf('?')
  const p = (q === -1 ? path : path.slice(0, q)).replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1')
  const exact = EXACT[p]
  if (exact) return exact
  for (const [re, name] of PATTERNS) if (re.test(p)) return name
  return 'other'
}
