// The Coze account behind the token: users/me and workspaces.
import { Type } from 'typebox'
import { cozeCall, type CallOptions, type CozeClient } from './client.js'
import { decoder } from './decode.js'

const Str = Type.String()
const Me = Type.Object({ user_id: Str, user_name: Str, nick_name: Str, avatar_url: Str })
const decodeMe = decoder(Me, 'an account (users/me) answer')

const Workspaces = Type.Object({
  workspaces: Type.Optional(Type.Union([Type.Null(), Type.Array(Type.Object({
    id: Str, name: Str, icon_url: Str, role_type: Str, workspace_type: Str
  }))])),
  total_count: Type.Optional(Type.Integer())
})
const decodeWorkspaces = decoder(Workspaces, 'a workspace list')

export interface Workspace { id: string, name: string, icon_url: string, role_type: string, workspace_type: string }

export async function getMe (coze: CozeClient, o: CallOptions = {}) {
  const me = decodeMe(await cozeCall(coze, o, (opts, api) => api.users.me(opts)))
  return { user_id: me.user_id, user_name: me.user_name, nick_name: me.nick_name, avatar_url: me.avatar_url }
}

export async function listWorkspaces (coze: CozeClient, page: { page_num: number, page_size: number }, o: CallOptions = {}): Promise<{ items: Workspace[], total: number }> {
  const res = decodeWorkspaces(await cozeCall(coze, o, (opts, api) => api.workspaces.list(page, opts)))
  const items = (res.workspaces ?? []).map((w) => ({ id: w.id, name: w.name, icon_url: w.icon_url, role_type: w.role_type, workspace_type: w.workspace_type }))
  return { items, total: res.total_count ?? items.length }
}
