import { sql } from 'kysely'
import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { githubPush, push } from '../support/http.ts'
import { startWebhookReceiver } from '../support/webhook-receiver.ts'

/** Webhook endpoints through the API: a secret shown once, rotation with overlap, integrity, input, scopes. */
const database = await openTestDatabase(t)
const ctx = await buildTestApp(t, database)
const { app, clock, issuer } = ctx
const base = (tenant: string) => `/v1/tenants/${tenant}/webhooks`

function signaturesValidFor(secret: string, delivery: { headers: Record<string, unknown>; body: string }): boolean {
  const realNow = Date.now
  Date.now = () => Number(delivery.headers['webhook-timestamp']) * 1000
  try {
    new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>)
    return true
  } catch {
    return false
  } finally {
    Date.now = realNow
  }
}

t.test('the signing secret is in the answer to the registration and nowhere after', async (t) => {
  const tenant = uniqueTenant()
  const created = await app.inject({
    method: 'POST',
    url: base(tenant),
    payload: { url: 'https://hooks.example.com/vault', event_types: ['connection.deleted'], description: 'ops' },
  })
  t.equal(created.statusCode, 201, created.body)
  t.equal(created.headers['cache-control'], 'no-store')
  const endpoint = created.json()
  t.match(endpoint, {
    tenant_id: tenant,
    url: 'https://hooks.example.com/vault',
    event_types: ['connection.deleted'],
    description: 'ops',
    key_version: 1,
  })
  t.match(endpoint.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, '32 random bytes, as Standard Webhooks writes them')
  const raw = endpoint.secret.slice('whsec_'.length)
  const listed = await app.inject({ method: 'GET', url: base(tenant) })
  const one = await app.inject({ method: 'GET', url: `${base(tenant)}/${endpoint.id}` })
  t.same(listed.json().webhooks, [one.json()])
  t.notOk('secret' in one.json())
  for (const body of [listed.body, one.body, ctx.logs.join('\n')]) t.notOk(body.includes(raw), 'no secret after the registration')
  const row = await sql<{
    sealed: string
  }>`SELECT encode(secrets_sealed, 'base64') AS sealed FROM webhook_endpoints WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.notOk(row.rows[0]!.sealed.includes(raw), 'stored sealed')

  t.same((await app.inject({ method: 'DELETE', url: `${base(tenant)}/${endpoint.id}` })).json(), { deleted: 1 })
  t.same((await app.inject({ method: 'DELETE', url: `${base(tenant)}/${endpoint.id}` })).json(), { deleted: 0 })
  const gone = await app.inject({ method: 'GET', url: `${base(tenant)}/${endpoint.id}` })
  t.equal(gone.statusCode, 404)
  t.equal(gone.json().code, 'webhook.not_found')
})

t.test('a rotation signs with both secrets for the overlap, then with the new one alone', async (t) => {
  const tenant = uniqueTenant('rotate')
  const receiver = await startWebhookReceiver(t)
  const created = (await app.inject({ method: 'POST', url: base(tenant), payload: { url: receiver.url } })).json()
  const rotated = await app.inject({
    method: 'POST',
    url: `${base(tenant)}/${created.id}/rotate-secret`,
    payload: { overlap_seconds: 600 },
  })
  t.equal(rotated.statusCode, 200, rotated.body)
  t.equal(rotated.headers['cache-control'], 'no-store')
  const { secret, previous_secret_expires_at } = rotated.json()
  t.not(secret, created.secret)
  t.equal(previous_secret_expires_at, new Date(clock.now.getTime() + 600_000).toISOString())

  await push(app, { tenant, user: 'during' }, githubPush('gho_during'))
  await app.server.webhookDelivery.deliverDue()
  const during = receiver.received[0]!
  t.equal(String(during.headers['webhook-signature']).split(' ').length, 2, 'two signatures')
  t.ok(signaturesValidFor(secret, during), 'the new secret verifies')
  t.ok(signaturesValidFor(created.secret, during), 'the old one still does')

  clock.now = new Date(clock.now.getTime() + 601_000)
  await push(app, { tenant, user: 'after' }, githubPush('gho_after'))
  await app.server.webhookDelivery.deliverDue()
  const after = receiver.received[1]!
  t.equal(String(after.headers['webhook-signature']).split(' ').length, 1)
  t.ok(signaturesValidFor(secret, after))
  t.notOk(signaturesValidFor(created.secret, after), 'the old secret no longer verifies')

  const immediate = await app.inject({
    method: 'POST',
    url: `${base(tenant)}/${created.id}/rotate-secret`,
    payload: { overlap_seconds: 0 },
  })
  t.equal(immediate.json().previous_secret_expires_at, null, 'no overlap: the old secret is dropped at once')
})

t.test('an endpoint changed in SQL is crypto.integrity on delivery: nothing is sent, to the old address or the new', async (t) => {
  const tenant = uniqueTenant('tamper')
  const honest = await startWebhookReceiver(t)
  const attacker = await startWebhookReceiver(t, '/steal')
  const created = (
    await app.inject({ method: 'POST', url: base(tenant), payload: { url: honest.url, event_types: ['connection.deleted'] } })
  ).json()
  await sql`UPDATE webhook_endpoints SET url = ${attacker.url}, event_types = '{}' WHERE tenant_id = ${tenant}`.execute(database.admin)
  await push(app, { tenant }, githubPush('gho_tamper'))
  t.same(await app.server.webhookDelivery.deliverDue(), ['dead'])
  t.same(attacker.received, [], 'the attacker got nothing')
  t.same(honest.received, [])
  const deliveries = (await app.inject({ method: 'GET', url: `${base(tenant)}/${created.id}/deliveries` })).json().deliveries
  t.match(deliveries, [{ state: 'dead', last_error: 'crypto.integrity', attempts: 1 }])
  const rotate = await app.inject({ method: 'POST', url: `${base(tenant)}/${created.id}/rotate-secret`, payload: {} })
  t.equal(rotate.statusCode, 500)
  t.equal(rotate.json().code, 'crypto.integrity', 'a tampered endpoint is not re-sealed as valid')
})

t.test('malformed input is refused with its code and stores nothing', async (t) => {
  const tenant = uniqueTenant('malformed')
  const cases: Array<[unknown, string]> = [
    [{}, 'body.url'],
    [{ url: 'not a url' }, 'body.url'],
    [{ url: 'ftp://hooks.example.com/x' }, 'body.url'],
    [{ url: `https://hooks.example.com/${'x'.repeat(2048)}` }, 'body.url'],
    [{ url: 'https://hooks.example.com/x', event_types: ['connection.exploded'] }, 'body.event_types'],
    [{ url: 'https://hooks.example.com/x', event_types: ['connection.deleted', 'connection.deleted'] }, 'body.event_types'],
    [{ url: 'https://hooks.example.com/x', description: 'a\u0000b' }, 'body.description'],
    [{ url: 'https://hooks.example.com/x', secret: 'mine' }, 'body'],
  ]
  for (const [payload, path] of cases) {
    const refused = await app.inject({ method: 'POST', url: base(tenant), payload: payload as object })
    t.equal(refused.statusCode, 400, `${path}: ${refused.body}`)
    t.equal(refused.json().code, 'request.invalid')
    t.match(refused.json().issues[0].path, path)
  }
  for (const url of ['https://169.254.169.254/latest', 'https://10.0.0.8/hook', 'https://metadata/x']) {
    const refused = await app.inject({ method: 'POST', url: base(tenant), payload: { url } })
    t.equal(refused.statusCode, 400, url)
    t.equal(refused.json().code, 'egress.refused', url)
    t.match(refused.json().issues[0], { path: 'body.url' })
  }
  const created = (
    await app.inject({ method: 'POST', url: base(uniqueTenant('other')), payload: { url: 'https://hooks.example.com/ok' } })
  ).json()
  for (const [method, suffix, payload] of [
    ['POST', '/rotate-secret', { overlap_seconds: 7 * 86_400 + 1 }],
    ['POST', '/rotate-secret', { overlap_seconds: -1 }],
    ['POST', '/rotate-secret', { extra: 1 }],
  ] as const) {
    const refused = await app.inject({ method, url: `${base(created.tenant_id)}/${created.id}${suffix}`, payload })
    t.equal(refused.statusCode, 400, refused.body)
    t.equal(refused.json().code, 'request.invalid')
  }
  for (const query of ['?limit=0', '?limit=201', '?state=lost', '?cursor=x']) {
    const refused = await app.inject({ method: 'GET', url: `${base(created.tenant_id)}/${created.id}/deliveries${query}` })
    t.equal(refused.statusCode, 400, query)
    t.equal(refused.json().code, 'request.invalid', query)
  }
  const badId = await app.inject({ method: 'GET', url: `${base(tenant)}/not-a-uuid` })
  t.equal(badId.statusCode, 400)
  t.match(badId.json().issues[0].path, 'params.webhookId')
  const unknown = '00000000-0000-4000-8000-000000000000'
  for (const [method, suffix] of [
    ['GET', ''],
    ['POST', '/rotate-secret'],
    ['GET', '/deliveries'],
    ['POST', '/test'],
  ] as const) {
    const missing = await app.inject({ method, url: `${base(tenant)}/${unknown}${suffix}`, ...(method === 'POST' ? { payload: {} } : {}) })
    t.equal(missing.statusCode, 404, `${method} ${suffix}`)
    t.equal(missing.json().code, 'webhook.not_found')
  }
  const rows = await sql<{ n: number }>`SELECT count(*)::int AS n FROM webhook_endpoints WHERE tenant_id = ${tenant}`.execute(
    database.admin,
  )
  t.equal(rows.rows[0]!.n, 0, 'nothing stored')
  t.equal((await app.inject({ method: 'GET', url: `${base(created.tenant_id)}/${created.id}` })).json().event_types.length, 0, 'unchanged')
})

t.test("managing webhooks takes its own scope; another tenant's endpoint is not found", async (t) => {
  const tenant = uniqueTenant('scope')
  const created = (await app.inject({ method: 'POST', url: base(tenant), payload: { url: 'https://hooks.example.com/scope' } })).json()
  const writer = { authorization: `Bearer ${await issuer.mint({ scope: 'token_sets:write connectors:write' })}` }
  const refused = await app.inject({ method: 'GET', url: base(tenant), headers: writer })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'auth.insufficient_scope')
  const elsewhere = await app.inject({ method: 'GET', url: `${base(uniqueTenant('elsewhere'))}/${created.id}` })
  t.equal(elsewhere.statusCode, 404, 'row-level security: the id names nothing in another tenant')
  const audit = await sql<{ action: string }>`
    SELECT action FROM audit_events WHERE tenant_id = ${tenant} AND action LIKE 'webhook.%' ORDER BY id`.execute(database.admin)
  t.same(
    audit.rows.map((row) => row.action),
    ['webhook.create', 'webhook.list'],
    'each call is audited, the refused one too',
  )
})
