// The baseline: a minimal pass-through proxy in front of Coze. node:http in, undici out,
// the raw Coze call forwarded byte for byte (no validation, no envelope, no parsing).
// UPSTREAM_URL, UPSTREAM_TOKEN; prints {"ready":true,"url":…} once listening.
import http from 'node:http'
import { pipeline } from 'node:stream/promises'
import { Agent, request } from 'undici'

const upstream = process.env.UPSTREAM_URL ?? 'http://127.0.0.1:2027'
const token = process.env.UPSTREAM_TOKEN ?? ''
const dispatcher = new Agent({ keepAliveTimeout: 10_000 })

const server = http.createServer(async (req, res) => {
  try {
    const up = await request(upstream + req.url, {
      method: req.method as 'POST',
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json', authorization: `Bearer ${token}` },
      body: req.method === 'GET' ? null : req,
      dispatcher
    })
    res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? '') })
    await pipeline(up.body, res)
  } catch {
    if (!res.headersSent) res.writeHead(502).end()
    else res.destroy()
  }
})
server.keepAliveTimeout = 65_000
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` }))
})
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
