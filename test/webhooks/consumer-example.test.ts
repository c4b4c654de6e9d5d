import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { createInterface } from 'node:readline'
import { sql } from 'kysely'
import t from 'tap'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { githubPush, push } from '../support/http.ts'

/** A port nothing listens on now, for a process to take. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

/** The documented receiver (docs/examples/webhook-receiver.ts), run as a process against real deliveries. */
const database = await openTestDatabase(t)
const { app } = await buildTestApp(t, database)

t.test('the example receiver verifies, handles each event once, and refuses a forgery', async (t) => {
  const tenant = uniqueTenant('consumer')
  const port = await freePort()
  const created = await app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenant}/webhooks`,
    payload: { url: `http://127.0.0.1:${port}/vault-events` },
  })
  const child = spawn(process.execPath, ['docs/examples/webhook-receiver.ts'], {
    env: { ...process.env, WEBHOOK_SECRET: created.json().secret, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  t.teardown(() => {
    child.kill('SIGTERM')
  })
  const lines: Record<string, unknown>[] = []
  const waiting: Array<() => void> = []
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(JSON.parse(line))
    for (const wake of waiting.splice(0)) wake()
  })
  let read = 0
  const nextLine = async () => {
    while (lines.length === read) await new Promise<void>((resolve) => waiting.push(resolve))
    return lines[read++]!
  }
  t.same(await nextLine(), { listening: port })

  await push(app, { tenant }, githubPush('gho_consumer'))
  t.same(await app.server.webhookDelivery.deliverDue(), ['delivered'])
  const handled = await nextLine()
  t.match(handled, { type: 'connection.created', user_id: 'alice', connector_id: 'github' })

  // The acknowledgement was lost: the vault delivers the same event again, and the receiver knows it.
  await sql`UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = NULL WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.same(await app.server.webhookDelivery.deliverDue(), ['delivered'])
  t.same(await nextLine(), { duplicate: handled.id })

  const forged = await fetch(`http://127.0.0.1:${port}/vault-events`, {
    method: 'POST',
    headers: { 'webhook-id': 'msg_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
    body: JSON.stringify({ type: 'connection.deleted', data: {} }),
  })
  t.equal(forged.status, 401, 'a forgery is refused')
})
