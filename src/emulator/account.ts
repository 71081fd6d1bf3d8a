import type { Ctx, RouteDef } from './runtime.js'
import { EMULATED_USER } from './state.js'
import { sendOk } from './respond.js'

const WORKSPACES = [
  {
    id: '7500000000000000101',
    name: 'Personal',
    icon_url: 'https://example.invalid/workspace-personal.png',
    role_type: 'owner',
    workspace_type: 'personal',
    enterprise_id: '',
    owner_uid: EMULATED_USER.user_id,
    admin_uids: [],
    description: 'Personal workspace of the emulated user',
    joined_status: 'joined'
  },
  {
    id: '7500000000000000102',
    name: 'Team',
    icon_url: 'https://example.invalid/workspace-team.png',
    role_type: 'member',
    workspace_type: 'team',
    enterprise_id: '',
    owner_uid: '7500000000000000002',
    admin_uids: ['7500000000000000002'],
    description: 'A team workspace',
    joined_status: 'joined'
  }
]

/** page_num (or page_index) from 1, page_size clamped to [1, max] */
export function paging (query: Record<string, string>, defSize: number, maxSize: number): { page: number; size: number } {
  const page = Math.max(1, Math.floor(Number(query.page_num ?? query.page_index ?? 1)) || 1)
  const size = Math.min(maxSize, Math.max(1, Math.floor(Number(query.page_size ?? defSize)) || defSize))
  return { page, size }
}

function me (ctx: Ctx): void {
  sendOk(ctx.res, ctx.logid, EMULATED_USER, ctx.fault)
}

function workspaces (ctx: Ctx): void {
  const { page, size } = paging(ctx.query, 20, 50)
  const items = WORKSPACES.slice((page - 1) * size, page * size)
  sendOk(ctx.res, ctx.logid, { workspaces: items, total_count: WORKSPACES.length }, ctx.fault)
}

export const accountRoutes: RouteDef[] = [
  { method: 'GET', path: '/v1/users/me', handler: me },
  { method: 'GET', path: '/v1/workspaces', handler: workspaces }
]
