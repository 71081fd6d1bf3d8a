// The gateway's routes as its OpenAPI document (/docs/json) describes them, and for each
// one a fixture: the required inputs of a request that succeeds. Table tests derive their
// rows from the document, so a new route or a new field is covered by construction, and a
// route that takes input but has no fixture here fails them.
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { CozeAPI } from '@coze/api'
import { CHATFLOW_ECHO_ID, DEFAULT_VOICE_ID } from '../../src/emulator/index.js'
import { startStack, userMsg, type Stack } from './stack.js'
import { bearer, writeKeysFile } from './keys.js'
import { SCOPES } from '../../src/access/keys.js'

export type Json = Record<string, unknown>
export interface Schema {
  type?: string | string[]
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  anyOf?: Schema[]
  enum?: unknown[]
  const?: unknown
  minLength?: number
  pattern?: string
  default?: unknown
  nullable?: boolean
  examples?: unknown[]
}
interface Param { in: string, name: string, required?: boolean, schema: Schema }

export interface Operation {
  /** "POST /api/v1/chat" */
  route: string
  json?: Schema | undefined
  form?: Schema | undefined
  query: Param[]
}

export interface FormFile { name: string, type: string, content: string }

export interface Fixture {
  /** Path parameters (fresh ones for routes that use up what they name, e.g. DELETE). */
  params?: (s: Stack) => Promise<Record<string, string>> | Record<string, string>
  /** The required part of a JSON body. */
  body?: (s: Stack) => Promise<Json> | Json
  /** The file of a multipart/form-data body. */
  file?: FormFile
  query?: Record<string, string>
  /** The route exists only with gateway keys and an OAuth app (token vending): it runs on a second stack that has them. */
  keyed?: true
}

const state = { sessionId: '', conversationId: '' }

const newSession = async (s: Stack) => (await s.app.inject({ method: 'POST', url: '/api/v1/sessions', payload: {} })).json().session_id as string
const toolChat = async (s: Stack) => {
  const d = (await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { bot_id: 'bot-tool', messages: [userMsg('Paris')] } })).json().data
  return { conversation_id: d.conversation_id, chat_id: d.chat_id, tool_outputs: [{ tool_call_id: d.tool_calls[0].id, output: 'sunny' }] }
}
/** A chat still in progress (bot-slow), started on Coze itself: one that can be cancelled. */
const running = async (s: Stack) => {
  const c = await new CozeAPI({ token: s.emu.token, baseURL: s.emu.url }).chat.create({
    bot_id: 'bot-slow', user_id: 'null-rule-user', additional_messages: [{ role: 'user' as never, content: 'one two three four five six', content_type: 'text' }]
  })
  return { conversation_id: c.conversation_id, chat_id: c.id }
}
const interrupted = async (s: Stack) => {
  const body = (await s.app.inject({ method: 'POST', url: '/api/v1/workflows/wf-interrupt/run', payload: { parameters: {}, stream: true } })).body
  const frame = body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6))).find((f) => f.type === 'interrupt')
  return { event_id: frame.event_id, resume_data: 'yes', interrupt_type: frame.interrupt_type }
}
const audio: FormFile = { name: 'voice.wav', type: 'audio/wav', content: 'RIFF....WAVEfmt audio bytes' }

/** Every route that takes input. The stack must have DEFAULT_USER_ID set (user_id is then optional everywhere). */
export const FIXTURES: Record<string, Fixture> = {
  'GET /api/v1/workspaces': {},
  'POST /api/v1/chat': { body: () => ({ messages: [userMsg('hi')] }) },
  'POST /api/v1/upload': { file: { name: 'notes.txt', type: 'text/plain', content: 'hello coze' } },
  'POST /api/v1/sessions': { body: () => ({}) },
  'GET /api/v1/sessions': {},
  'GET /api/v1/sessions/{session_id}': { params: () => ({ session_id: state.sessionId }) },
  'DELETE /api/v1/sessions/{session_id}': { params: async (s) => ({ session_id: await newSession(s) }) },
  'POST /api/v1/sessions/{session_id}/clear': { params: () => ({ session_id: state.sessionId }), body: () => ({}) },
  'POST /api/v1/conversations': { body: () => ({}) },
  'GET /api/v1/conversations': {},
  'GET /api/v1/conversations/{conversation_id}/messages': { params: () => ({ conversation_id: state.conversationId }) },
  'POST /chat': { body: () => ({ message: 'hi' }) },
  'POST /chat/stream': { body: () => ({ message: 'hi' }) },
  'GET /session/{session_id}/info': { params: () => ({ session_id: state.sessionId }) },
  'POST /session/{session_id}/clear': { params: () => ({ session_id: state.sessionId }) },
  'POST /v1/chat/completions': { body: () => ({ messages: [userMsg('hi')] }) },
  'POST /v1/audio/speech': { body: () => ({ input: 'hi', voice: DEFAULT_VOICE_ID }) },
  'POST /v1/audio/transcriptions': { file: audio },
  'POST /api/v1/chat/tool-outputs': { body: toolChat },
  'POST /api/v1/chat/cancel': { body: running },
  'POST /api/v1/workflows/{workflow_id}/run': { params: () => ({ workflow_id: 'wf-echo' }), body: () => ({}) },
  'POST /api/v1/workflows/{workflow_id}/chat': { params: () => ({ workflow_id: CHATFLOW_ECHO_ID }), body: () => ({ messages: [userMsg('hi')] }) },
  'POST /api/v1/workflows/{workflow_id}/resume': { params: () => ({ workflow_id: 'wf-interrupt' }), body: interrupted },
  'POST /api/v1/workflows/{workflow_id}/execute': { params: () => ({ workflow_id: 'wf-echo' }), body: () => ({}) },
  'GET /api/v1/bots': { query: { workspace_id: '7500000000000000101' } },
  'POST /api/v1/audio/speech': { body: () => ({ input: 'hi', voice_id: DEFAULT_VOICE_ID }) },
  'POST /api/v1/audio/transcriptions': { file: audio },
  'GET /api/v1/audio/voices': {},
  'POST /api/v1/auth/token': { keyed: true, body: () => ({ bot_ids: ['bot-echo'] }) }
}

async function readOperations (s: Stack): Promise<Operation[]> {
  const doc = (await s.app.inject('/docs/json')).json() as {
    paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema: Schema }> }, parameters?: Param[] }>>
  }
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({
    route: `${method.toUpperCase()} ${path}`,
    json: op.requestBody?.content?.['application/json']?.schema,
    form: op.requestBody?.content?.['multipart/form-data']?.schema,
    query: (op.parameters ?? []).filter((p) => p.in === 'query')
  })))
}

const KEY = 'cgw_route_table_key_0001'

/** The two stacks the fixtures run on, and the document's operations (those of the keyed stack: every route). */
export interface Table {
  ops: Operation[]
  stackOf (route: string): Stack
  /** The fixture's request for `route`, with `variant` applied, on its stack. */
  inject (route: string, variant?: Variant): Promise<LightMyRequestResponse>
  /** The same in two steps: the fixture's own setup (which may call Coze) first, then a function that sends the request. */
  prepare (route: string, variant?: Variant): Promise<() => Promise<LightMyRequestResponse>>
  close (): Promise<void>
}

/**
 * A stack with `env` (which must set DEFAULT_USER_ID: user_id is then optional everywhere),
 * and for the routes that need them (`keyed`), one with a gateway key of every scope and an
 * OAuth JWT app.
 */
export async function startTable (env: Record<string, string>): Promise<Table> {
  const plain = await startStack(env)
  const dir = mkdtempSync(join(tmpdir(), 'route-table-'))
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
  const app = { appId: '1150000000088', keyId: 'kid_route_table' }
  const oauthFile = join(dir, 'oauth.json')
  writeFileSync(oauthFile, JSON.stringify({ client_type: 'jwt', client_id: app.appId, coze_www_base: 'https://www.coze.cn', coze_api_base: 'https://api.coze.cn', private_key: pair.privateKey, public_key_id: app.keyId }))
  const keys = writeKeysFile([{ id: 'tables', raw: KEY, scopes: [...SCOPES], bots: ['*'] }])
  const keyed = await startStack({ ...env, COZE_OAUTH_CONFIG_FILE: oauthFile, GATEWAY_KEYS_FILE: keys.path }, { oauthApps: [{ ...app, publicKey: pair.publicKey }] })
  state.sessionId = await newSession(plain)
  state.conversationId = (await plain.app.inject({ method: 'POST', url: '/api/v1/conversations', payload: {} })).json().conversation_id
  const stackOf = (route: string) => FIXTURES[route]?.keyed ? keyed : plain
  const prepare = async (route: string, variant: Variant = {}) => {
    const s = stackOf(route)
    const req = await fixtureRequest(s, route, variant)
    return () => s.app.inject(s === keyed ? { ...req, headers: { ...req.headers as Record<string, string>, ...bearer(KEY) } } : req)
  }
  return {
    ops: await readOperations(keyed),
    stackOf,
    prepare,
    async inject (route, variant = {}) { return (await prepare(route, variant))() },
    async close () {
      await plain.close()
      await keyed.close()
      keys.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Whether a route takes any input a fixture must provide for. */
export const takesInput = (op: Operation) => op.json !== undefined || op.form !== undefined || op.query.length > 0

export interface Variant {
  /** A JSON body: the fixture's with these changes (dotted paths, e.g. messages.0.role). */
  body?: Record<string, unknown>
  query?: Record<string, string>
  fields?: Record<string, string>
}

/** The fixture's request for `route`, with `variant` applied (see Table.inject, which also picks the stack). */
async function fixtureRequest (s: Stack, route: string, variant: Variant = {}): Promise<InjectOptions> {
  const [method, path] = route.split(' ') as [string, string]
  const f = FIXTURES[route]
  if (!f) throw new Error(`no fixture for ${route} in test/helpers/route-table.ts`)
  const params = await f.params?.(s) ?? {}
  const url = path.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(params[k]!))
  const qs = new URLSearchParams({ ...f.query, ...variant.query }).toString()
  const req: InjectOptions = { method: method as 'GET', url: `${url}${qs ? `?${qs}` : ''}` }
  if (f.file) return { ...req, ...multipart(f.file, variant.fields ?? {}) }
  let body = await f.body?.(s)
  for (const [field, value] of Object.entries(variant.body ?? {})) body = set(body ?? {}, field, value)
  return body === undefined ? req : { ...req, payload: body }
}

function set (body: Json, path: string, value: unknown): Json {
  const copy = structuredClone(body)
  const keys = path.split('.')
  let o: Record<string, unknown> = copy
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>
  o[keys.at(-1)!] = value
  return copy
}

function multipart (file: FormFile, fields: Record<string, string>): Pick<InjectOptions, 'headers' | 'payload'> {
  const b = 'route-table-boundary'
  let body = ''
  for (const [name, value] of Object.entries(fields)) body += `--${b}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  body += `--${b}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n${file.content}\r\n--${b}--\r\n`
  return { headers: { 'content-type': `multipart/form-data; boundary=${b}` }, payload: body }
}

/** The error code of an answer in any surface's shape, or null. */
export function errorCode (res: { headers: Record<string, unknown>, json: () => any }): string | null {
  if (!String(res.headers['content-type']).includes('json')) return null
  const j = res.json()
  return j.code ?? j.error?.code ?? null
}

/** The error message of an answer in any surface's shape. */
export function errorMessage (res: { json: () => any }): string {
  const j = res.json()
  return String(j.message ?? j.detail ?? j.error?.message ?? '')
}

// Schema helpers.
export const branches = (s: Schema): Schema[] => s.anyOf ? s.anyOf.flatMap(branches) : [s]
export const types = (s: Schema): string[] => branches(s).flatMap((b) => [b.type ?? []].flat())
export const optional = (obj: Schema, key: string) => !(obj.required ?? []).includes(key) || obj.properties?.[key]?.default !== undefined
