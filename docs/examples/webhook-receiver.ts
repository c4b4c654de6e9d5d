// A receiver for secret-vault's webhooks, to copy from: it verifies the Standard Webhooks signature, drops
// a delivery it has already handled (the vault delivers at least once), and acknowledges quickly.
//
//   WEBHOOK_SECRET=whsec_… PORT=4000 node docs/examples/webhook-receiver.ts
//
// Register it with POST /v1/tenants/{tenant}/webhooks { "url": "https://…/vault-events" }; the answer's
// `secret` is WEBHOOK_SECRET. Any Standard Webhooks library verifies the same way (Python, Go, Ruby, …).
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'

const secret = process.env.WEBHOOK_SECRET
if (secret === undefined || !secret.startsWith('whsec_')) {
  console.error('set WEBHOOK_SECRET to the secret the vault returned when the endpoint was registered')
  process.exit(2)
}
// During a secret rotation the vault signs with both secrets: verifying with either one passes.
const verifier = new Webhook(secret)
// In production, a unique key in your database, kept longer than the vault retries (24 hours by default).
const handled = new Set<string>()
const MAX_BODY_BYTES = 1024 * 1024

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  let size = 0
  req.on('data', (chunk: Buffer) => {
    size += chunk.length
    if (size > MAX_BODY_BYTES) req.destroy()
    else chunks.push(chunk)
  })
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8')
    let event: { type: string; timestamp: string; data: Record<string, unknown> }
    try {
      // Checks the signature over id, timestamp and body, and that the timestamp is within five minutes.
      event = verifier.verify(body, req.headers as Record<string, string>) as typeof event
    } catch {
      res.writeHead(401).end()
      return
    }
    const id = String(req.headers['webhook-id'])
    if (handled.has(id)) {
      console.log(JSON.stringify({ duplicate: id }))
      res.writeHead(204).end()
      return
    }
    handled.add(id)
    // Events are notices: read the current state from the vault when it matters (they may arrive out of order).
    if (event.type === 'connection.reauth_required') {
      // e.g. ask the user to connect their account again
    }
    console.log(JSON.stringify({ id, type: event.type, user_id: event.data.user_id, connector_id: event.data.connector_id }))
    res.writeHead(204).end()
  })
})

server.listen(Number(process.env.PORT ?? 4000), process.env.HOST ?? '127.0.0.1', () => {
  console.log(JSON.stringify({ listening: (server.address() as AddressInfo).port }))
})
process.on('SIGTERM', () => server.close())
