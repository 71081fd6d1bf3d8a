// A listening gateway on the emulator, and the official `openai` SDK pointed at it.
import OpenAI, { type APIError } from 'openai'
import type { EmulatorOptions } from '../../src/emulator/index.js'
import { startStack, type Stack } from './stack.js'

export interface OpenAIStack extends Stack {
  url: string
  /** The official SDK with its defaults (retries included), as users run it */
  client: OpenAI
}

export const CLIENT_KEY = 'sk-client-key-that-must-never-reach-coze'

export async function startOpenAIStack (env: Record<string, string> = {}, emuOpts: EmulatorOptions = {}): Promise<OpenAIStack> {
  const s = await startStack(env, emuOpts)
  const url = await s.app.listen({ host: '127.0.0.1', port: 0 })
  return { ...s, url, client: new OpenAI({ baseURL: `${url}/v1`, apiKey: CLIENT_KEY }) }
}

type Recorded = Stack['emu']['requests'][number]

export interface CozeChatBody {
  bot_id: string
  user_id: string
  stream: boolean
  additional_messages: Array<{ role: string, type?: string, content: string, content_type: string }>
}

/** The /v3/chat requests Coze received after `from` (an index into emu.requests). */
export function cozeChats (s: Stack, from = 0): Array<Recorded & { body: CozeChatBody }> {
  return s.emu.requests.slice(from).filter((r) => r.path === '/v3/chat') as Array<Recorded & { body: CozeChatBody }>
}

export async function waitFor (cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** Drains an SDK stream; returns the chunks and what it threw (if anything). */
export async function drain<T> (stream: AsyncIterable<T>): Promise<{ chunks: T[], error: unknown }> {
  const chunks: T[] = []
  try {
    for await (const c of stream) chunks.push(c)
    return { chunks, error: undefined }
  } catch (error) {
    return { chunks, error }
  }
}

/** The error a call must fail with (the test fails if it succeeds). */
export function rejection (p: Promise<unknown>): Promise<APIError> {
  return p.then(() => { throw new Error('expected the call to fail') }, (e: unknown) => e as APIError)
}
