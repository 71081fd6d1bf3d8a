// The Coze token never leaves the gateway: not in bodies, headers or logs.
import { describe, expect, it } from 'vitest'
import { startStack, userMsg } from '../helpers/stack.js'

describe('the Coze token stays secret', () => {
  it('appears in no response body, header or log line, even on upstream errors', async () => {
    const token = 'pat_SECRET_' + 'x'.repeat(20)
    const s = await startStack({ COZE_API_TOKEN: token, LOG_LEVEL: 'trace' }, { tokens: [token] })
    try {
      const responses = []
      responses.push(await s.app.inject('/api/v1/config'))
      responses.push(await s.app.inject('/health'))
      responses.push(await s.app.inject('/api/v1/user/info'))
      responses.push(await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', messages: [userMsg('hi')] }, headers: { authorization: `Bearer ${token}` } }))
      s.emu.faults.inject({ kind: 'coze_error', code: 4100 })
      responses.push(await s.app.inject('/api/v1/test/connection'))
      responses.push(await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', messages: [userMsg('hi')], stream: true } }))
      s.emu.faults.clear()
      s.emu.faults.inject({ kind: 'reset' })
      responses.push(await s.app.inject({ method: 'POST', url: '/api/v1/chat', payload: { user_id: 'u', messages: [userMsg('hi')] } }))
      for (const r of responses) {
        expect(r.body).not.toContain(token)
        expect(JSON.stringify(r.headers)).not.toContain(token)
      }
      expect(s.logs.length).toBeGreaterThan(0)
      for (const line of s.logs) expect(line).not.toContain(token)
    } finally { await s.close() }
  })
})
