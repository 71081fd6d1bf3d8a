import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { APIError, BadRequestError, CozeAPI, CozeError, NotFoundError, WorkflowEvent } from '@coze/api'
import { startEmulator } from '../../src/emulator/index.js'
import type { Emulator } from '../../src/emulator/index.js'
import { LOGID_RE, caught, drain, raw } from './helpers.js'

let emu: Emulator
let coze: CozeAPI

beforeAll(async () => {
  emu = await startEmulator({ asyncWorkflowMs: 200 })
  coze = new CozeAPI({ token: emu.token, baseURL: emu.url })
})
afterEach(() => emu.faults.clear())
afterAll(async () => { await emu.close() })

const kinds = (evs: WorkflowEvent[]): string[] => evs.map((e) => e.event)

describe('POST /v1/workflow/run', () => {
  it('wf-echo returns the whole body: data is the JSON string {"output": parameters}', async () => {
    const res = await coze.workflows.runs.create({ workflow_id: 'wf-echo', parameters: { city: 'Paris', n: 2 } }) as any
    expect(res.code).toBe(0)
    expect(res.msg).toBe('')
    expect(typeof res.data).toBe('string')
    expect(JSON.parse(res.data)).toEqual({ output: { city: 'Paris', n: 2 } })
    expect(res.execute_id).toEqual(expect.any(String))
    expect(res.debug_url).toContain(res.execute_id)
    expect(res.usage.token_count).toBe(res.usage.input_count + res.usage.output_count)
    expect(res.detail.logid).toMatch(LOGID_RE)
  })

  it('accepts parameters as a JSON string', async () => {
    const res = await coze.workflows.runs.create({ workflow_id: 'wf-echo', parameters: '{"a":1}' as any }) as any
    expect(JSON.parse(res.data)).toEqual({ output: { a: 1 } })
  })

  it('wf-text returns a non-JSON string', async () => {
    const res = await coze.workflows.runs.create({ workflow_id: 'wf-text', parameters: { a: 1 } }) as any
    expect(res.data).toBe('Hello from wf-text. You sent {"a":1}')
    expect(() => JSON.parse(res.data)).toThrow()
  })

  it('wf-interrupt in a sync run returns interrupt_data', async () => {
    const res = await coze.workflows.runs.create({ workflow_id: 'wf-interrupt' }) as any
    expect(res.interrupt_data).toEqual({ event_id: expect.stringMatching(new RegExp(`^${res.execute_id}/\\d+$`)), type: 2, data: 'What is your name?' })
  })

  it('is_async returns {execute_id, debug_url}; run_histories shows Running then Success', async () => {
    const res = await coze.workflows.runs.create({ workflow_id: 'wf-echo', parameters: { x: true }, is_async: true }) as any
    expect(res.code).toBe(0)
    expect(res.data).toBeUndefined()
    expect(res.execute_id).toEqual(expect.any(String))
    expect(res.debug_url).toEqual(expect.any(String))
    const [running] = await coze.workflows.runs.history('wf-echo', res.execute_id)
    expect(running).toMatchObject({ execute_id: res.execute_id, execute_status: 'Running', run_mode: 2, error_code: '', connector_id: '1024', bot_id: '0' })
    let done = running
    for (let i = 0; i < 100 && done!.execute_status === 'Running'; i++) {
      await new Promise((r) => setTimeout(r, 20))
      ;[done] = await coze.workflows.runs.history('wf-echo', res.execute_id)
    }
    expect(done!.execute_status).toBe('Success')
    expect(JSON.parse(done!.output)).toEqual({ output: { x: true } })
  })

  it('run_histories of an unknown execution is 4200', async () => {
    expect(await caught(coze.workflows.runs.history('wf-echo', '123'))).toBeInstanceOf(NotFoundError)
  })

  it('an unknown workflow is 4200; bot_id with app_id is 4000', async () => {
    const nf = await caught(coze.workflows.runs.create({ workflow_id: '7000000000000000000' }))
    expect(nf).toBeInstanceOf(NotFoundError)
    expect(nf.code).toBe(4200)
    const br = await caught(coze.workflows.runs.create({ workflow_id: 'wf-echo', bot_id: 'b', app_id: 'a' }))
    expect(br).toBeInstanceOf(BadRequestError)
    expect(br.code).toBe(4000)
  })
})

describe('POST /v1/workflow/stream_run and stream_resume', () => {
  it('wf-echo streams Message events (with a PING) whose contents add up to the sync data, then Done', async () => {
    const { events, error } = await drain(coze.workflows.runs.stream({ workflow_id: 'wf-echo', parameters: { q: 'hi' } }))
    expect(error).toBeUndefined()
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i))
    expect(kinds(events)).toContain('PING')
    expect(events.find((e) => (e.event as string) === 'PING')!.data).toEqual({})
    expect(kinds(events).at(-1)).toBe('Done')
    const messages = events.filter((e) => e.event === 'Message').map((e) => e.data as any)
    expect(messages.length).toBeGreaterThanOrEqual(3)
    expect(messages.map((m) => m.content).join('')).toBe('{"output":{"q":"hi"}}')
    expect(messages.at(-1).node_is_finish).toBe(true)
    expect(messages.slice(0, -1).every((m) => m.node_is_finish === false)).toBe(true)
  })

  it('wf-interrupt streams a Message then an Interrupt; stream_resume continues with the resume_data and Done', async () => {
    const first = await drain(coze.workflows.runs.stream({ workflow_id: 'wf-interrupt' }))
    expect(kinds(first.events)).toEqual(['Message', 'PING', 'Interrupt'])
    const interrupt = (first.events[2]!.data as any).interrupt_data
    expect(interrupt.type).toBe(2)
    expect(interrupt.event_id).toMatch(/^\d+\/\d+$/)

    const resumed = await drain(coze.workflows.runs.resume({ workflow_id: 'wf-interrupt', event_id: interrupt.event_id, resume_data: 'Alice', interrupt_type: 2 }))
    expect(resumed.error).toBeUndefined()
    expect(kinds(resumed.events).at(-1)).toBe('Done')
    expect(resumed.events.filter((e) => e.event === 'Message').map((e) => (e.data as any).content).join('')).toBe('{"output":"Alice"}')
    const [hist] = await coze.workflows.runs.history('wf-interrupt', interrupt.event_id.split('/')[0])
    expect(hist!.execute_status).toBe('Success')

    // an interrupt can be resumed once
    const again = await drain(coze.workflows.runs.resume({ workflow_id: 'wf-interrupt', event_id: interrupt.event_id, resume_data: 'Bob', interrupt_type: 2 }))
    expect(again.events.map((e) => [e.event, (e.data as any).code])).toEqual([['error', 4000]])
  })

  it('an unknown workflow in a stream yields one error event with code 4200', async () => {
    const { events } = await drain(coze.workflows.runs.stream({ workflow_id: 'nope' }))
    expect(events.map((e) => [e.event, (e.data as any).code])).toEqual([['error', 4200]])
  })

  it('frames workflow SSE as id/event/data with spaces, counting from 0', async () => {
    const res = await raw(emu, 'POST', '/v1/workflow/stream_run', { workflow_id: 'wf-text' })
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    expect(res.headers.get('x-tt-logid')).toMatch(LOGID_RE)
    const frames = res.text.split('\n\n')
    expect(frames.pop()).toBe('')
    frames.forEach((f, i) => {
      const lines = f.split('\n')
      expect(lines).toHaveLength(3)
      expect(lines[0]).toBe(`id: ${i}`)
      expect(lines[1]).toMatch(/^event: (Message|PING|Done)$/)
      expect(lines[2]!.startsWith('data: ')).toBe(true)
      expect(() => JSON.parse(lines[2]!.slice(6))).not.toThrow()
    })
    expect(frames.at(-1)!.split('\n')[1]).toBe('event: Done')
  })
})

describe('workflow faults', () => {
  it('fault-truncate cuts the stream after 2 Message events, without Done', async () => {
    const { events, error } = await drain(coze.workflows.runs.stream({ workflow_id: 'fault-truncate' }))
    expect(error).toBeUndefined()
    expect(kinds(events)).toEqual(['Message', 'PING', 'Message'])
  })

  it('fault-stream-error sends an Error event with error_code and error_message', async () => {
    const { events } = await drain(coze.workflows.runs.stream({ workflow_id: 'fault-stream-error-1' }))
    expect(kinds(events)).toEqual(['Message', 'PING', 'Error'])
    expect(events[2]!.data).toEqual({ error_code: 5000, error_message: expect.any(String) })
  })

  it('a stream_error fault with a code on stream_run', async () => {
    emu.faults.inject({ kind: 'stream_error', afterDeltas: 0, code: 4000, msg: 'Request parameter error' }, { path: '/v1/workflow/stream_run' })
    const { events } = await drain(coze.workflows.runs.stream({ workflow_id: 'wf-echo' }))
    expect(events.map((e) => [e.event, e.data])).toEqual([['Error', { error_code: 4000, error_message: 'Request parameter error' }]])
  })

  it('fault-malformed makes the SDK throw CozeError', async () => {
    const { events, error } = await drain(coze.workflows.runs.stream({ workflow_id: 'fault-malformed' }))
    expect(error).toBeInstanceOf(CozeError)
    expect((error as Error).message).toContain('Could not parse message into JSON')
    expect(kinds(events)).toEqual(['Message', 'PING', 'Message'])
  })

  it('fault-6003 on run is a plain APIError with code 6003', async () => {
    const err = await caught(coze.workflows.runs.create({ workflow_id: 'fault-6003', is_async: true }))
    expect(err).toBeInstanceOf(APIError)
    expect(err.code).toBe(6003)
    expect(err.msg).toContain('premium')
  })

  it('fault-latency-<ms> on a workflow delays, then runs like wf-echo', async () => {
    const t = Date.now()
    const res = await coze.workflows.runs.create({ workflow_id: 'fault-latency-120', parameters: { a: 1 } }) as any
    expect(Date.now() - t).toBeGreaterThanOrEqual(110)
    expect(JSON.parse(res.data)).toEqual({ output: { a: 1 } })
  })
})
