// The SDK's enum values the gateway uses before the SDK is loaded (src/coze/sdk.ts).
import { describe, expect, it } from 'vitest'
import * as Sdk from '@coze/api'
import { ChatEventType, RoleType } from '../../src/coze/sdk.js'

describe('the SDK values known before it is loaded', () => {
  it('are the SDK\'s own', () => {
    for (const [k, v] of Object.entries(ChatEventType)) expect(v).toBe(Sdk.ChatEventType[k as keyof typeof Sdk.ChatEventType])
    for (const [k, v] of Object.entries(RoleType)) expect(v).toBe(Sdk.RoleType[k as keyof typeof Sdk.RoleType])
  })
})
