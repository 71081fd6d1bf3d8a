// The official SDK module (and axios, ws, form-data… under it), loaded on the first Coze call
// rather than at start: compiling and running it was about a third of a cold start
// (BENCHMARKS.md, "Cold start"). Only type imports of '@coze/api' elsewhere, so the bundle
// keeps it in a chunk of its own.
import type * as Sdk from '@coze/api'

export type SdkModule = typeof Sdk

let loaded: SdkModule | undefined
let loading: Promise<SdkModule> | undefined

export function loadSdk (): Promise<SdkModule> {
  return (loading ??= import('@coze/api').then((m) => (loaded = m)))
}

/** The SDK once loaded. Before, no error can be one of its classes. */
export function loadedSdk (): SdkModule | undefined {
  return loaded
}

/** The SDK, by code that only runs after a call has awaited `loadSdk()`. */
export function sdk (): SdkModule {
  if (!loaded) throw new Error('the Coze SDK is used before it was loaded (await loadSdk() first)')
  return loaded
}

// The SDK's enum values used before it is loaded (test/coze/sdk.test.ts checks them against it).
export const ChatEventType = {
  CONVERSATION_CHAT_CREATED: 'conversation.chat.created' as Sdk.ChatEventType.CONVERSATION_CHAT_CREATED,
  CONVERSATION_MESSAGE_DELTA: 'conversation.message.delta' as Sdk.ChatEventType.CONVERSATION_MESSAGE_DELTA,
  CONVERSATION_MESSAGE_COMPLETED: 'conversation.message.completed' as Sdk.ChatEventType.CONVERSATION_MESSAGE_COMPLETED,
  CONVERSATION_CHAT_COMPLETED: 'conversation.chat.completed' as Sdk.ChatEventType.CONVERSATION_CHAT_COMPLETED,
  CONVERSATION_CHAT_REQUIRES_ACTION: 'conversation.chat.requires_action' as Sdk.ChatEventType.CONVERSATION_CHAT_REQUIRES_ACTION,
  CONVERSATION_CHAT_FAILED: 'conversation.chat.failed' as Sdk.ChatEventType.CONVERSATION_CHAT_FAILED,
  ERROR: 'error' as Sdk.ChatEventType.ERROR,
  DONE: 'done' as Sdk.ChatEventType.DONE
} as const

export const RoleType = {
  User: 'user' as Sdk.RoleType.User,
  Assistant: 'assistant' as Sdk.RoleType.Assistant
} as const
