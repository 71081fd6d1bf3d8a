// The pure parts of the OpenAI mapping: COZE_MODEL_MAP loading, model resolution,
// error bodies, tool-call ids, private addresses.
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.js'
import { GatewayError } from '../../src/errors.js'
import { fromCozeCode } from '../../src/coze/errors.js'
import { ModelNotFoundError } from '../../src/openai/errors.js'
import { errorBody as toOpenAIError } from '../../src/wires/openai.js'
import { resolveModel } from '../../src/openai/models.js'
import { decodeToolCallId, encodeToolCallId } from '../../src/openai/tool-calls.js'
import { isPrivateAddress } from '../../src/openai/images.js'

describe('COZE_MODEL_MAP', () => {
  it('is parsed once at config load into alias → bot id', () => {
    const c = loadConfig({ COZE_MODEL_MAP: '{"gpt-4o":"7537334510896185359"," spaced ":" bot-1 "}', COZE_BOT_ID: 'bot-default' })
    expect({ ...c.modelMap }).toEqual({ 'gpt-4o': '7537334510896185359', spaced: 'bot-1' })
    expect(loadConfig({}).modelMap).toEqual({})
  })

  it.each([
    ['{not json', /not valid JSON/],
    ['["a"]', /not a JSON object/],
    ['"x"', /not a JSON object/],
    ['{"a": 7}', /bot id of "a" must be a non-empty string/],
    ['{"a": ""}', /must be a non-empty string/],
    ['{"": "bot"}', /model name is empty/]
  ])('rejects %s with a clear error', (value, why) => {
    expect(() => loadConfig({ COZE_MODEL_MAP: value })).toThrow(ConfigError)
    expect(() => loadConfig({ COZE_MODEL_MAP: value })).toThrow(why)
    expect(() => loadConfig({ COZE_MODEL_MAP: value })).toThrow(/COZE_MODEL_MAP.*e\.g\. \{"gpt-4o"/)
  })

  it('resolves aliases, raw ids and the default; prototype names are not aliases', () => {
    const c = loadConfig({ COZE_MODEL_MAP: '{"fast":"bot-1"}', COZE_BOT_ID: 'bot-default' })
    expect(resolveModel(c, 'fast')).toEqual({ model: 'fast', botId: 'bot-1' })
    expect(resolveModel(c, 'bot-9')).toEqual({ model: 'bot-9', botId: 'bot-9' })
    expect(resolveModel(c, undefined)).toEqual({ model: 'bot-default', botId: 'bot-default' })
    expect(resolveModel(c, 'constructor')).toEqual({ model: 'constructor', botId: 'constructor' })
    expect(() => resolveModel(loadConfig({}), '')).toThrow(/model is required/)
  })
})

describe('toOpenAIError', () => {
  it('maps each gateway failure to OpenAI type and code', () => {
    const cases: Array<[GatewayError, number, string, string]> = [
      [new GatewayError(400, 'VALIDATION_ERROR', 'bad'), 400, 'invalid_request_error', 'validation_error'],
      [fromCozeCode(4000, 'bad param'), 400, 'invalid_request_error', 'upstream_bad_request'],
      [new ModelNotFoundError('m'), 404, 'invalid_request_error', 'model_not_found'],
      [new GatewayError(404, 'NOT_FOUND', 'x'), 404, 'invalid_request_error', 'not_found'],
      [fromCozeCode(4013, ''), 429, 'rate_limit_error', 'rate_limit_exceeded'],
      [fromCozeCode(4100, 'authentication is invalid'), 502, 'upstream_auth_error', 'upstream_token_rejected'],
      [fromCozeCode(4101, ''), 502, 'upstream_auth_error', 'upstream_token_rejected'],
      [new GatewayError(504, 'UPSTREAM_TIMEOUT', 't'), 504, 'upstream_error', 'upstream_timeout'],
      [new GatewayError(502, 'UPSTREAM_TRUNCATED', 't'), 502, 'upstream_error', 'upstream_truncated'],
      [new GatewayError(500, 'INTERNAL_ERROR', 'Internal server error.'), 500, 'server_error', 'internal_error']
    ]
    for (const [e, status, type, code] of cases) {
      expect(e.statusCode).toBe(status)
      expect(toOpenAIError(e).error).toMatchObject({ message: e.message, type, code })
    }
  })

  it('keeps the Coze code and logid, and names the failing field of a schema error', () => {
    const e = fromCozeCode(4013, '', '20250101000000ABCDEF')
    expect(toOpenAIError(e).error).toMatchObject({ coze_code: 4013, logid: '20250101000000ABCDEF', param: null })
    const v = new GatewayError(400, 'VALIDATION_ERROR', 'Invalid request', { details: [{ field: 'body/messages/2/role' }] })
    expect(toOpenAIError(v).error.param).toBe('messages[2].role')
  })
})

describe('tool call ids', () => {
  it('carry the Coze conversation, chat and call across requests; foreign ids are refused', () => {
    const ref = { conversation_id: '111', chat_id: '222', tool_call_id: 'abc_def' }
    const id = encodeToolCallId(ref)
    expect(id).toMatch(/^call_[\w-]+$/)
    expect(decodeToolCallId(id)).toEqual(ref)
    expect(decodeToolCallId('call_abc')).toBeUndefined()
    expect(decodeToolCallId('toolu_123')).toBeUndefined()
    expect(decodeToolCallId(`call_${Buffer.from('["a","b"]').toString('base64url')}`)).toBeUndefined()
  })
})

describe('isPrivateAddress', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1'])('%s is private', (a) => {
    expect(isPrivateAddress(a)).toBe(true)
  })
  it.each(['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8', '172.32.0.1'])('%s is public', (a) => {
    expect(isPrivateAddress(a)).toBe(false)
  })
})
