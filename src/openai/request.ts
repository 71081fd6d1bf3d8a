// OpenAI `messages` → the gateway's chat messages (then src/coze/messages.ts does the Coze
// mapping, system role included, exactly as for /api/v1/chat). Every check that can fail
// runs here, before anything reaches Coze; image parts become pending uploads.
import { toCozeMessages, type ContentPart, type GatewayMessage } from '../coze/messages.js'
import { errors, GatewayError } from '../errors.js'
import { InvalidParamError } from './errors.js'
import { parseFileData, parseImageUrl, type FileSource, type ImageLimits } from './images.js'
import { decodeToolCallId } from './tool-calls.js'

export interface OpenAIContentPart {
  type: string
  text?: unknown
  refusal?: unknown
  image_url?: unknown
  file?: unknown
}

export interface OpenAIMessage {
  role: string
  content?: string | null | OpenAIContentPart[]
  tool_call_id?: string
}

/** An image or file part whose bytes still have to be uploaded to Coze. */
export interface PendingFile {
  param: string
  source: FileSource
  /** The part to fill with the Coze file_id once uploaded */
  part: ContentPart
}

export interface ToolOutputs {
  conversation_id: string
  chat_id: string
  tool_outputs: Array<{ tool_call_id: string, output: string }>
}

export type MappedRequest =
  | { kind: 'chat', messages: GatewayMessage[], files: PendingFile[] }
  | { kind: 'tool_outputs', toolOutputs: ToolOutputs }

export const MAX_FILES_PER_REQUEST = 10
const PENDING = 'pending-upload'

export function mapRequest (messages: OpenAIMessage[], limits: ImageLimits): MappedRequest {
  let firstTool = messages.length
  while (firstTool > 0 && messages[firstTool - 1]!.role === 'tool') firstTool--
  if (firstTool < messages.length) return { kind: 'tool_outputs', toolOutputs: toolOutputsOf(messages, firstTool) }

  const last = messages.at(-1)
  if (last && last.role !== 'user') {
    throw new InvalidParamError(`messages[${messages.length - 1}].role`, 'The last message must be a user message (or tool results): Coze answers the final user message.')
  }
  const files: PendingFile[] = []
  const out: GatewayMessage[] = []
  /** out index → request index (tool results and tool-only assistant turns are dropped) */
  const origin: number[] = []
  const push = (m: GatewayMessage, i: number) => { out.push(m); origin.push(i) }
  messages.forEach((m, i) => {
    const param = `messages[${i}].content`
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOf(m.content, param, ['text'])
        if (text) push({ role: 'system', content: text }, i)
        break
      }
      case 'assistant': {
        // An assistant turn that only called tools has no text: nothing for Coze to read.
        const text = textOf(m.content, param, ['text', 'refusal'])
        if (text) push({ role: 'assistant', content: text }, i)
        break
      }
      case 'user':
        push(userMessage(m.content, param, files, limits), i)
        break
      default:
        // tool / function results of an earlier round: the assistant answer after them holds the outcome.
        break
    }
  })
  if (files.length > MAX_FILES_PER_REQUEST) {
    throw new InvalidParamError('messages', `At most ${MAX_FILES_PER_REQUEST} images or files per request.`)
  }
  // Coze's own rules (one user message, text next to a lone image, ...) checked before any upload.
  try {
    toCozeMessages(out, false)
  } catch (err) {
    throw err instanceof GatewayError ? withRequestIndices(err, origin) : err
  }
  return { kind: 'chat', messages: out, files }
}

/** A Coze-rule error names messages by their index in the request, not in the filtered list. */
function withRequestIndices (err: GatewayError, origin: number[]): GatewayError {
  const message = err.message.replace(/messages\[(\d+)\]/g, (all, k: string) => origin[Number(k)] === undefined ? all : `messages[${origin[Number(k)]}]`)
  return message === err.message ? err : err.withMessage(message)
}

/** The messages with the uploaded file ids filled in. */
export function setFileId (file: PendingFile, fileId: string): void {
  file.part.file_id = fileId
}

function userMessage (content: OpenAIMessage['content'], param: string, files: PendingFile[], limits: ImageLimits): GatewayMessage {
  if (typeof content === 'string') {
    if (!content.trim()) throw new InvalidParamError(param, `${param} must not be empty.`)
    return { role: 'user', content }
  }
  if (!Array.isArray(content) || content.length === 0) throw new InvalidParamError(param, `${param} must be a non-empty string or array of content parts.`)
  const texts: string[] = []
  const media: ContentPart[] = []
  content.forEach((p, j) => {
    const at = `${param}[${j}]`
    switch (p.type) {
      case 'text':
        if (typeof p.text !== 'string') throw new InvalidParamError(`${at}.text`, `${at}.text must be a string.`)
        if (p.text.trim()) texts.push(p.text)
        break
      case 'image_url': {
        const iu = p.image_url
        const url = typeof iu === 'string' ? iu : (iu as { url?: unknown } | undefined)?.url
        if (typeof url !== 'string' || !url) throw new InvalidParamError(`${at}.image_url.url`, `${at}.image_url.url must be an http(s) URL or a data: URL.`)
        const part: ContentPart = { type: 'image', file_id: PENDING }
        files.push({ param: `${at}.image_url.url`, source: parseImageUrl(url, `${at}.image_url.url`, limits), part })
        media.push(part)
        break
      }
      case 'file': {
        const f = (p.file ?? {}) as { file_id?: unknown, file_data?: unknown, filename?: unknown }
        if (typeof f.file_id === 'string' && f.file_id) {
          media.push({ type: 'file', file_id: f.file_id })
        } else if (typeof f.file_data === 'string' && f.file_data) {
          const part: ContentPart = { type: 'file', file_id: PENDING }
          const name = typeof f.filename === 'string' ? f.filename : undefined
          files.push({ param: `${at}.file.file_data`, source: parseFileData(f.file_data, name, `${at}.file.file_data`, limits), part })
          media.push(part)
        } else {
          throw new InvalidParamError(`${at}.file`, `${at}.file needs file_id (a Coze file id from POST /api/v1/upload) or file_data.`)
        }
        break
      }
      default:
        throw new InvalidParamError(`${at}.type`, `${at}: content parts of type "${String(p.type)}" are not supported by Coze bots through this gateway (use text, image_url or file).`)
    }
  })
  if (media.length === 0) {
    if (texts.length === 0) throw new InvalidParamError(param, `${param} has no text and no image.`)
    return { role: 'user', content: texts.join('\n') }
  }
  // Coze takes at most one text item per message: the texts are joined.
  const parts: ContentPart[] = texts.length ? [{ type: 'text', text: texts.join('\n') }, ...media] : media
  return { role: 'user', content: parts }
}

/** Text of a message that may only hold text-like parts. */
function textOf (content: OpenAIMessage['content'], param: string, allowed: string[]): string {
  if (content == null) return ''
  if (typeof content === 'string') return content
  return content.map((p, j) => {
    if (!allowed.includes(p.type)) throw new InvalidParamError(`${param}[${j}].type`, `${param}[${j}]: only ${allowed.join(' or ')} parts are allowed in this message.`)
    const t = p.type === 'refusal' ? p.refusal : p.text
    if (typeof t !== 'string') throw new InvalidParamError(`${param}[${j}]`, `${param}[${j}] must carry a string ${p.type}.`)
    return t
  }).filter((t) => t.trim()).join('\n')
}

function toolOutputsOf (messages: OpenAIMessage[], from: number): ToolOutputs {
  let target: { conversation_id: string, chat_id: string } | undefined
  const outputs: ToolOutputs['tool_outputs'] = []
  for (let i = from; i < messages.length; i++) {
    const m = messages[i]!
    const ref = typeof m.tool_call_id === 'string' ? decodeToolCallId(m.tool_call_id) : undefined
    if (!ref) {
      throw new InvalidParamError(`messages[${i}].tool_call_id`,
        `messages[${i}].tool_call_id must be the id of a tool call this gateway returned: Coze continues the chat that asked for the tool, and that id says which chat it is.`)
    }
    if (target && (ref.conversation_id !== target.conversation_id || ref.chat_id !== target.chat_id)) {
      throw new InvalidParamError(`messages[${i}].tool_call_id`, 'The trailing tool messages answer tool calls of different chats: send the results of the last assistant turn only.')
    }
    target = { conversation_id: ref.conversation_id, chat_id: ref.chat_id }
    outputs.push({ tool_call_id: ref.tool_call_id, output: textOf(m.content, `messages[${i}].content`, ['text']) })
  }
  if (!target) throw errors.invalid('No tool results.')
  return { ...target, tool_outputs: outputs }
}
