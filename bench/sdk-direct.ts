// "The SDK calling Coze directly": a bare node:http server that, per request, calls the
// official SDK's chat.stream with the request body and drains it, then answers the
// concatenated text as JSON. It uses the gateway's own SDK client (createCozeClient:
// same transport, same keep-alive agents), so gateway vs this server isolates what the
// gateway adds on top of the SDK (Fastify, validation, the event pipeline, the envelope).
// UPSTREAM_URL, UPSTREAM_TOKEN; prints {"ready":true,"url":…} once listening.
import http from 'node:http'
import { ChatEventType, type StreamChatReq } from '@coze/api'
import { createCozeClient } from '../src/coze/client.js'

const coze = createCozeClient({
  baseURL: process.env.UPSTREAM_URL ?? 'http://127.0.0.1:2027',
  token: process.env.UPSTREAM_TOKEN ?? '',
  requestTimeoutMs: 30_000
})

async function readJson (req: http.IncomingMessage): Promise<StreamChatReq> {
  let s = ''
  for await (const chunk of req) s += String(chunk)
  return JSON.parse(s) as StreamChatReq
}

const server = http.createServer(async (req, res) => {
  try {
    const body = await readJson(req)
    let content = ''
    let chatId = ''
    for await (const ev of await (await coze.sdk()).chat.stream(body, coze.options({ stream: true }))) {
      if (ev.event === ChatEventType.CONVERSATION_MESSAGE_DELTA && ev.data.type === 'answer') content += ev.data.content
      else if (ev.event === ChatEventType.CONVERSATION_CHAT_COMPLETED) chatId = ev.data.id
    }
    const out = JSON.stringify({ content, chat_id: chatId })
    res.writeHead(chatId ? 200 : 502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out)
  } catch (err) {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(String(err))
    else res.destroy()
  }
})
server.keepAliveTimeout = 65_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }))
})
process.on('SIGTERM', () => { coze.close(); server.closeAllConnections(); server.close(() => process.exit(0)) })
