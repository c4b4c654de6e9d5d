import { sql } from 'kysely'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { inTenantTransaction } from '../../src/db/tenant-scope.ts'
import { EVENT_TYPE_NAMES } from '../../src/webhooks/event-types.ts'
import { startFakeTokenEndpoint } from '../support/fake-token-endpoint.ts'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, githubPush, push } from '../support/http.ts'
import { HOUR_MS, tokens } from '../support/refresh-scenario.ts'
import { startWebhookReceiver } from '../support/webhook-receiver.ts'

/** Lifecycle events: each change to a connection leaves its event in the outbox, delivered signed. */
const database = await openTestDatabase(t)
const ctx = await buildTestApp(t, database)
const { app, clock } = ctx
const deliverDue = () => app.server.webhookDelivery.deliverDue()
const advance = (ms: number) => {
  clock.now = new Date(clock.now.getTime() + ms)
}

async function registerWebhook(tenant: string, url: string, eventTypes?: string[]) {
  const res = await app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenant}/webhooks`,
    payload: { url, ...(eventTypes === undefined ? {} : { event_types: eventTypes }) },
  })
  t.equal(res.statusCode, 201, res.body)
  return res.json() as { id: string; secret: string }
}

/** Verified as of the delivery's own timestamp: the test clock runs ahead of the verifier's. */
function verifyAsSent(verifier: Webhook, delivery: { headers: Record<string, unknown>; body: string }) {
  const realNow = Date.now
  Date.now = () => Number(delivery.headers['webhook-timestamp']) * 1000
  try {
    return verifier.verify(delivery.body, delivery.headers as Record<string, string>) as Record<string, unknown>
  } finally {
    Date.now = realNow
  }
}

const typesOf = (bodies: readonly { body: string }[]) => bodies.map((d) => JSON.parse(d.body).type as string)

t.test('every connection event, each signed so that the Standard Webhooks verifier accepts it, none with a token', async (t) => {
  const tenant = uniqueTenant('events')
  const receiver = await startWebhookReceiver(t)
  const provider = await startFakeTokenEndpoint(t)
  const { secret } = await registerWebhook(tenant, receiver.url)
  const settings = await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
    payload: {
      token_endpoint: provider.tokenEndpoint,
      revocation_endpoint: provider.revocationEndpoint,
      client_id: 'client-1',
      client_secret: 'cs_webhooks',
    },
  })
  t.equal(settings.statusCode, 201)
  const read = () => app.inject({ method: 'GET', url: `${connectionPath({ tenant })}/access-token` })
  const steps: Array<[string, () => Promise<unknown>, string[]]> = [
    [
      'first push',
      () =>
        push(
          app,
          { tenant },
          githubPush('gho_first', { issued_at: clock.now.toISOString() }, { refresh_token: 'ghr_1', expires_in: 3600 }),
        ),
      ['connection.created'],
    ],
    [
      're-consent',
      async () => {
        advance(1000)
        return push(app, { tenant }, githubPush('gho_second', {}, { refresh_token: 'ghr_2', expires_in: 3600, scope: 'repo' }))
      },
      ['connection.updated'],
    ],
    ['the replaced refresh token is revoked', () => app.server.revocations.revokeDue(), ['connection.revoked']],
    [
      'a refresh fails',
      async () => {
        provider.answer = () => ({ status: 503, body: { error: 'temporarily_unavailable' } })
        advance(HOUR_MS)
        return read()
      },
      ['connection.refresh_failing'],
    ],
    [
      'the next refresh succeeds',
      async () => {
        provider.answer = () => tokens('gho_refreshed')
        advance(10_000)
        return read()
      },
      ['connection.refreshed', 'connection.recovered'],
    ],
    [
      'the grant is revoked',
      async () => {
        provider.answer = () => ({ status: 400, body: { error: 'invalid_grant' } })
        advance(2 * HOUR_MS)
        return read()
      },
      ['connection.reauth_required'],
    ],
    [
      'the user connects again',
      () => push(app, { tenant }, githubPush('gho_again', {}, { refresh_token: 'ghr_3', expires_in: 3600 })),
      ['connection.updated', 'connection.recovered'],
    ],
    ['unlink', () => app.inject({ method: 'DELETE', url: connectionPath({ tenant }) }), ['connection.deleted']],
  ]
  const verifier = new Webhook(secret)
  for (const [what, step, expected] of steps) {
    receiver.received.length = 0
    await step()
    t.same(
      await deliverDue(),
      expected.map(() => 'delivered'),
      `${what}: delivered`,
    )
    t.same(typesOf(receiver.received).sort(), [...expected].sort(), `${what}: ${expected.join(', ')}`)
    for (const delivery of receiver.received) {
      const verified = verifyAsSent(verifier, delivery)
      t.match(verified, {
        data: { tenant_id: tenant, user_id: 'alice', connector_type: 'social', connector_id: 'github' },
      })
      t.equal(delivery.headers['content-type'], 'application/json')
      t.notMatch(delivery.body, /gho_|ghr_|cs_webhooks/, `${what}: no token or secret in the event`)
    }
  }

  const failing = await sql<{ data: { refresh_failure: unknown; state: string } }>`
    SELECT data FROM events WHERE tenant_id = ${tenant} AND type = 'connection.refresh_failing'`.execute(database.admin)
  t.match(failing.rows[0]!.data, { state: 'active', refresh_failure: { count: 1, last_error: 'provider.unavailable' } })
  const test = await app.inject({ method: 'POST', url: `/v1/tenants/${tenant}/webhooks/${(await listOf(tenant))[0]!.id}/test` })
  t.equal(test.statusCode, 202)
  receiver.received.length = 0
  await deliverDue()
  t.same(typesOf(receiver.received), ['webhook.test'])
  t.equal(receiver.received[0]!.headers['webhook-id'], test.json().event_id)
  t.notOk(ctx.logs.join('\n').includes(secret.slice(6)), 'the signing secret is in no log line')
  t.same(
    [...new Set([...steps.flatMap(([, , types]) => types), 'webhook.test'])].sort(),
    // The tenant.* events of key operations have their own test (key-events.http.test.ts).
    EVENT_TYPE_NAMES.filter((type) => !type.startsWith('tenant.')).sort(),
    'every connection event type the vault documents was sent',
  )
})

async function listOf(tenant: string) {
  return (await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/webhooks` })).json().webhooks as Array<{ id: string }>
}

t.test('an endpoint gets only the types it subscribed to; a tenant without endpoints stores no events', async (t) => {
  const tenant = uniqueTenant('filter')
  await push(app, { tenant }, githubPush('gho_before'))
  const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM events WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal(before.rows[0]!.n, 0, 'no subscriber, no outbox row')
  const receiver = await startWebhookReceiver(t)
  await registerWebhook(tenant, receiver.url, ['connection.deleted'])
  advance(1000)
  await push(app, { tenant }, githubPush('gho_after'))
  await app.inject({ method: 'DELETE', url: connectionPath({ tenant }) })
  await deliverDue()
  t.same(typesOf(receiver.received), ['connection.deleted'])
})

t.test('a change that rolls back emits nothing', async (t) => {
  const tenant = uniqueTenant('rollback')
  const receiver = await startWebhookReceiver(t)
  await registerWebhook(tenant, receiver.url)
  await push(app, { tenant }, githubPush('gho_kept'))
  await deliverDue()
  receiver.received.length = 0
  await t.rejects(
    inTenantTransaction(database.db, tenant, async (trx) => {
      await trx.deleteFrom('token_sets').where('tenant_id', '=', tenant).execute()
      throw new Error('rolled back')
    }),
  )
  t.same(await deliverDue(), [])
  t.same(receiver.received, [], 'nothing sent')
  const events = await sql<{ type: string }>`SELECT type FROM events WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.same(
    events.rows.map((row) => row.type),
    ['connection.created'],
    'only the committed change left an event',
  )
})

t.test('a receiver that is down gets every event once it recovers; dead after the retry period', async (t) => {
  const tenant = uniqueTenant('down')
  const receiver = await startWebhookReceiver(t)
  const { id } = await registerWebhook(tenant, receiver.url)
  receiver.answer = () => ({ status: 503 })
  await push(app, { tenant, user: 'u1' }, githubPush('gho_1'))
  await push(app, { tenant, user: 'u2' }, githubPush('gho_2'))
  t.same(await deliverDue(), ['failed', 'failed'])
  t.same(await deliverDue(), [], 'not before its backoff')
  const deliveries = async () =>
    (await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/webhooks/${id}/deliveries` })).json().deliveries as Array<
      Record<string, unknown>
    >
  const pending = await deliveries()
  t.match(pending, [
    { state: 'pending', attempts: 1, last_status: 503, last_error: 'http_503', event_type: 'connection.created' },
    { state: 'pending', attempts: 1, last_status: 503, last_error: 'http_503', event_type: 'connection.created' },
  ])
  const next = Math.max(...pending.map((d) => Date.parse(d.next_attempt_at as string)))
  t.ok(next > clock.now.getTime() && next <= clock.now.getTime() + 5000, 'the first retry within 5 s')
  clock.now = new Date(next)
  t.same(await deliverDue(), ['failed', 'failed'])
  t.match(await deliveries(), [{ attempts: 2 }, { attempts: 2 }])

  receiver.answer = () => ({ status: 204 })
  receiver.received.length = 0
  advance(15_000)
  t.same(await deliverDue(), ['delivered', 'delivered'])
  const ids = receiver.received.map((d) => d.headers['webhook-id'])
  t.equal(new Set(ids).size, 2, 'each event once')
  t.same(await deliverDue(), [], 'nothing left')
  t.match(await deliveries(), [{ state: 'delivered', last_status: 204, last_error: null }, { state: 'delivered' }])
  t.equal(
    (await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/webhooks/${id}/deliveries?state=pending` })).json().deliveries.length,
    0,
  )

  receiver.answer = () => ({ status: 500 })
  await app.inject({ method: 'DELETE', url: connectionPath({ tenant, user: 'u1' }) })
  t.same(await deliverDue(), ['failed'])
  advance(25 * HOUR_MS)
  t.same(await deliverDue(), ['dead'], 'still failing after the retry period: given up')
  t.match((await deliveries())[0], { state: 'dead', event_type: 'connection.deleted', last_error: 'http_500', next_attempt_at: null })
  advance(HOUR_MS)
  t.same(await deliverDue(), [], 'a dead delivery is never tried again')
  const metrics = await app.inject({ method: 'GET', url: '/metrics' })
  t.match(metrics.body, /secret_vault_webhook_deliveries_total\{outcome="dead"\} [1-9]/)
})

t.test('failures before an answer have their own codes; a redirect is not followed', async (t) => {
  const tenant = uniqueTenant('codes')
  const receiver = await startWebhookReceiver(t)
  const { id } = await registerWebhook(tenant, receiver.url)
  receiver.answer = () => ({ status: 200, delayMs: 3000 })
  await push(app, { tenant }, githubPush('gho_slow'))
  t.same(await deliverDue(), ['failed'])
  const last = async () =>
    (await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/webhooks/${id}/deliveries` })).json().deliveries[0]
  t.match(await last(), { last_error: 'timeout', last_status: null })
  receiver.answer = () => ({ status: 302, headers: { location: 'http://127.0.0.1:9/elsewhere' } })
  advance(HOUR_MS)
  t.same(await deliverDue(), ['failed'])
  t.match(await last(), { last_error: 'redirect', last_status: 302 })
  t.equal(receiver.received.length, 2, 'the redirect was not followed')
})

t.test('two replicas polling at once deliver each event once', async (t) => {
  const tenant = uniqueTenant('replicas')
  const second = await buildTestApp(t, database, { provider: ctx.provider })
  second.clock.now = clock.now
  const receiver = await startWebhookReceiver(t)
  receiver.answer = () => ({ status: 200, delayMs: 50 })
  await registerWebhook(tenant, receiver.url)
  const users = Array.from({ length: 12 }, (_, i) => `user-${i}`)
  for (const user of users) await push(app, { tenant, user }, githubPush(`gho_${user}`))
  const outcomes = await Promise.all([deliverDue(), second.app.server.webhookDelivery.deliverDue(), deliverDue()])
  t.ok(outcomes.flat().length >= users.length, 'every one claimed by one of the polls')
  const states = await sql<{ state: string; attempts: number }>`
    SELECT state, attempts FROM webhook_deliveries WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.same(
    states.rows,
    users.map(() => ({ state: 'delivered', attempts: 1 })),
    'each delivered at its first attempt',
  )
  t.equal(new Set(receiver.received.map((d) => d.headers['webhook-id'])).size, users.length)
  t.equal(receiver.received.length, users.length, 'none twice')
})

t.test('retention deletes finished deliveries and their events, never a pending one', async (t) => {
  const tenant = uniqueTenant('retention')
  const receiver = await startWebhookReceiver(t)
  await registerWebhook(tenant, receiver.url)
  await push(app, { tenant, user: 'done-1' }, githubPush('gho_1'))
  await push(app, { tenant, user: 'done-2' }, githubPush('gho_2'))
  t.same(await deliverDue(), ['delivered', 'delivered'])
  receiver.answer = () => ({ status: 503 })
  await push(app, { tenant, user: 'pending' }, githubPush('gho_3'))
  t.same(await deliverDue(), ['failed'])
  const counts = async () =>
    (
      await sql<{ events: number; deliveries: number }>`
        SELECT (SELECT count(*)::int FROM events WHERE tenant_id = ${tenant}) AS events,
               (SELECT count(*)::int FROM webhook_deliveries WHERE tenant_id = ${tenant}) AS deliveries`.execute(database.admin)
    ).rows[0]!
  t.same(await counts(), { events: 3, deliveries: 3 })
  t.equal(await app.server.webhookDelivery.prune(), 0, 'nothing is old enough yet')
  advance(30 * 24 * HOUR_MS)
  t.ok((await app.server.webhookDelivery.prune()) >= 2)
  t.same(await counts(), { events: 1, deliveries: 1 }, 'the pending delivery and its event stay')
  receiver.answer = () => ({ status: 200 })
  await deliverDue()
  const left = await sql<{ state: string }>`SELECT state FROM webhook_deliveries WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.same(left.rows, [{ state: 'delivered' }], 'and it is still worked off')
})
