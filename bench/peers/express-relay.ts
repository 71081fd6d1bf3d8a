// A naive peer: Express + fetch, validating nothing. POST /api/v1/chat takes the body as
// it comes, streams Coze's /v3/chat with fetch, and answers the gateway's JSON envelope
// (the deltas concatenated) or, with "stream": true, one SSE frame per delta. What many
// quick "Coze proxy" projects look like; no error mapping beyond a 502.
// UPSTREAM_URL, UPSTREAM_TOKEN, COZE_BOT_ID, PORT; prints {"ready":true,"url":…} once listening.
import express, { type Request, type Response } from 'express'

const upstream = process.env.UPSTREAM_URL ?? 'http://127.0.0.1:2027'
const token = process.env.UPSTREAM_TOKEN ?? ''
const defaultBot = process.env.COZE_BOT_ID ?? ''

interface Body { bot_id?: string, user_id?: string, messages: Array<{ role: string, content: string }>, stream?: boolean }

/** Yields [event, data] per SSE frame of Coze's answer. */
async function * cozeEvents (body: Body): AsyncGenerator<[string, any]> {
  const r = await fetch(`${upstream}/v3/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      bot_id: body.bot_id ?? defaultBot,
      user_id: body.user_id ?? 'anonymous',
      stream: true,
      additional_messages: body.messages.map((m) => ({ role: m.role, type: m.role === 'user' ? 'question' : 'answer', content: m.content, content_type: 'text' }))
    })
  })
  if (!r.ok || !r.body) throw new Error(`Coze answered ${r.status}`)
  const decoder = new TextDecoder()
  let buf = ''
  let event = ''
  for await (const chunk of r.body) {
    buf += decoder.decode(chunk, { stream: true })
    let i
    while ((i = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      if (line.startsWith('event:')) event = line.slice(6)
      else if (line.startsWith('data:') && event !== 'done') yield [event, JSON.parse(line.slice(5))]
    }
  }
}

const app = express()
app.use(express.json())
app.get('/health', (_req, res) => { res.json({ status: 'ok' }) })
app.post('/api/v1/chat', async (req: Request, res: Response) => {
  const body = req.body as Body
  try {
    if (body.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      for await (const [event, data] of cozeEvents(body)) {
        if (event === 'conversation.message.delta') res.write(`data: ${JSON.stringify({ type: 'message_delta', content: data.content, timestamp: new Date().toISOString() })}\n\n`)
        else if (event === 'conversation.chat.completed') res.write(`data: ${JSON.stringify({ type: 'chat_completed', conversation_id: data.conversation_id, chat_id: data.id, usage: data.usage, timestamp: new Date().toISOString() })}\n\n`)
      }
      res.end('data: {"type":"end"}\n\n')
      return
    }
    let content = ''
    let done: any
    for await (const [event, data] of cozeEvents(body)) {
      if (event === 'conversation.message.delta') content += data.content
      else if (event === 'conversation.chat.completed') done = data
    }
    res.json({
      success: true,
      message: 'Chat completed successfully',
      data: { status: 'completed', content, conversation_id: done?.conversation_id, chat_id: done?.id, bot_id: body.bot_id, user_id: body.user_id, usage: done?.usage, timestamp: new Date().toISOString() },
      conversation_id: done?.conversation_id
    })
  } catch (err) {
    if (!res.headersSent) res.status(502).json({ success: false, message: String(err), data: null })
    else res.end()
  }
})

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }))
})
server.keepAliveTimeout = 65_000
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
