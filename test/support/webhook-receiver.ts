import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export interface ReceivedDelivery {
  headers: IncomingHttpHeaders
  body: string
}

/**
 * A webhook receiver on 127.0.0.1 that records every request and answers as the test says (200 unless told
 * otherwise), like the endpoint a tenant registers.
 */
export interface WebhookReceiver {
  url: string
  received: ReceivedDelivery[]
  answer: (delivery: ReceivedDelivery) => { status: number; delayMs?: number; headers?: Record<string, string> }
}

export async function startWebhookReceiver(t: Test, path = '/hooks/vault'): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = { url: '', received: [], answer: () => ({ status: 200 }) }
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      const delivery = { headers: req.headers, body }
      receiver.received.push(delivery)
      const answer = receiver.answer(delivery)
      setTimeout(() => {
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers })
        res.end('ok')
      }, answer.delayMs ?? 0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  server.unref()
  return receiver
}
