import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { VaultError } from '../../src/errors.ts'
import { rotateDataKey } from '../../src/key-lifecycle/rotate-data-keys.ts'
import { createDataKeyRing } from '../../src/keys/data-key-ring.ts'
import { basicCredentials, type FakeTokenEndpoint, startFakeTokenEndpoint } from '../support/fake-token-endpoint.ts'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, githubPush, push } from '../support/http.ts'
import { HOUR_MS } from '../support/refresh-scenario.ts'
import { startWebhookReceiver } from '../support/webhook-receiver.ts'

/**
 * Refresh tokens a connection leaves behind are revoked at the provider (RFC 7009): on unlink, user
 * deletion, connector deletion and re-consent, through the outbox, never in the way of the delete.
 */
const database = await openTestDatabase(t)
const ctx = await buildTestApp(t, database)
const { app, clock } = ctx
const revokeDue = () => app.server.revocations.revokeDue()

async function connector(t: Test, tenant: string, fake: FakeTokenEndpoint, settings: Record<string, unknown> = {}) {
  const res = await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
    payload: {
      token_endpoint: fake.tokenEndpoint,
      revocation_endpoint: fake.revocationEndpoint,
      client_id: 'client 1',
      client_secret: 'cs_revoke',
      ...settings,
    },
  })
  t.equal(res.statusCode, 201, res.body)
  // A subscriber, so that the tenant's events are kept (the outbox stores none for nobody).
  const receiver = await startWebhookReceiver(t)
  await app.inject({ method: 'POST', url: `/v1/tenants/${tenant}/webhooks`, payload: { url: receiver.url } })
  return res.json()
}

const pushWithRefresh = (tenant: string, user: string, refreshToken: string, at = clock.now) =>
  push(
    app,
    { tenant, user },
    githubPush(`gho_${refreshToken}`, { issued_at: at.toISOString() }, { refresh_token: refreshToken, expires_in: 3600 }),
  )

const queued = async (tenant: string) =>
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM token_revocations WHERE tenant_id = ${tenant}`.execute(database.admin)).rows[0]!
    .n

async function revokedEvents(tenant: string) {
  const rows = await sql<{ data: Record<string, unknown> }>`
    SELECT data FROM events WHERE tenant_id = ${tenant} AND type = 'connection.revoked' ORDER BY occurred_at`.execute(database.admin)
  return rows.rows.map((row) => row.data)
}

t.test('unlink: the delete answers at once, then the refresh token is revoked with the client authentication of a refresh', async (t) => {
  const tenant = uniqueTenant('unlink')
  const fake = await startFakeTokenEndpoint(t)
  await connector(t, tenant, fake)
  const receiver = await startWebhookReceiver(t)
  await app.inject({
    method: 'POST',
    url: `/v1/tenants/${tenant}/webhooks`,
    payload: { url: receiver.url, event_types: ['connection.revoked'] },
  })
  await pushWithRefresh(tenant, 'alice', 'ghr_unlinked')
  const deleted = await app.inject({ method: 'DELETE', url: connectionPath({ tenant }) })
  t.same(deleted.json(), { deleted: 1, revocations_scheduled: 1 })
  t.same(fake.revocations, [], 'nothing was sent while the delete was answered')
  t.equal(await queued(tenant), 1)

  t.same(await revokeDue(), ['revoked'])
  t.equal(fake.revocations.length, 1)
  t.same(fake.revocations[0]!.form, { token: 'ghr_unlinked', token_type_hint: 'refresh_token' })
  t.same(basicCredentials(fake.revocations[0]!), { id: 'client 1', secret: 'cs_revoke' })
  t.equal(await queued(tenant), 0, 'erased once revoked')
  t.same(await revokeDue(), [], 'once')
  t.match(await revokedEvents(tenant), [
    { user_id: 'alice', connector_id: 'github', reason: 'deleted', outcome: 'revoked', revoked: ['refresh_token'], error: null },
  ])
  await app.server.webhookDelivery.deliverDue()
  t.match(JSON.parse(receiver.received[0]!.body), { type: 'connection.revoked', data: { revoked: ['refresh_token'] } })
  t.notMatch(receiver.received[0]!.body, /ghr_|cs_revoke/)
  const audit = await sql<{ outcome: string; user_id: string }>`
    SELECT outcome, user_id FROM audit_events WHERE tenant_id = ${tenant} AND action = 'token_set.revoke'`.execute(database.admin)
  t.same(audit.rows, [{ outcome: 'success', user_id: 'alice' }])
  t.notOk(ctx.logs.join('\n').includes('ghr_unlinked'), 'the token is in no log line')
})

t.test('user deletion and connector deletion revoke too, the latter after its settings are gone', async (t) => {
  const tenant = uniqueTenant('deletions')
  const fake = await startFakeTokenEndpoint(t)
  await connector(t, tenant, fake, { client_auth_method: 'client_secret_post' })
  await pushWithRefresh(tenant, 'alice', 'ghr_alice')
  await pushWithRefresh(tenant, 'bob', 'ghr_bob')
  await pushWithRefresh(tenant, 'carol', 'ghr_carol')
  const user = await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant}/users/alice` })
  t.match(user.json(), { token_sets_deleted: 1, revocations_scheduled: 1 })
  const gone = await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant}/connectors/social/github` })
  t.same(gone.json(), { token_sets_deleted: 2, refresh_settings_deleted: true, revocations_scheduled: 2 })
  t.same(await revokeDue(), ['revoked', 'revoked', 'revoked'])
  t.same(fake.revocations.map((r) => r.form.token).sort(), ['ghr_alice', 'ghr_bob', 'ghr_carol'])
  for (const r of fake.revocations) t.match(r.form, { client_id: 'client 1', client_secret: 'cs_revoke', token_type_hint: 'refresh_token' })
})

t.test('re-consent revokes the replaced refresh token; a push that keeps it, even re-sealed under a new key, does not', async (t) => {
  const tenant = uniqueTenant('reconsent')
  const fake = await startFakeTokenEndpoint(t)
  await connector(t, tenant, fake)
  await pushWithRefresh(tenant, 'alice', 'ghr_first')
  clock.now = new Date(clock.now.getTime() + 1000)
  await pushWithRefresh(tenant, 'alice', 'ghr_second')
  t.same(await revokeDue(), ['revoked'])
  t.same(
    fake.revocations.map((r) => r.form.token),
    ['ghr_first'],
  )

  clock.now = new Date(clock.now.getTime() + 1000)
  await push(app, { tenant }, githubPush('gho_no_refresh', { issued_at: clock.now.toISOString() }))
  t.equal(await queued(tenant), 0, 'the same sealed token kept: nothing queued')
  await rotateDataKey(database.operator, ctx.provider, tenant)
  ctx.keyRing.forgetTenant(tenant)
  clock.now = new Date(clock.now.getTime() + 1000)
  await push(app, { tenant }, githubPush('gho_new_key', { issued_at: clock.now.toISOString() }, { expires_in: 3600 }))
  t.equal(await queued(tenant), 1, 're-sealed under the new key: its bytes changed, so it was queued')
  t.same(await revokeDue(), ['not_needed'], 'but it is the token the set holds: not revoked')
  t.equal(fake.revocations.length, 1)
  t.match((await revokedEvents(tenant)).at(-1), { reason: 'replaced', outcome: 'not_needed', revoked: [] })
  fake.answer = () => ({ body: { access_token: 'gho_refreshed', token_type: 'bearer', expires_in: 3600 } })
  clock.now = new Date(clock.now.getTime() + 2 * HOUR_MS)
  const refreshed = await app.inject({ method: 'GET', url: `${connectionPath({ tenant })}/access-token` })
  t.equal(refreshed.json().access_token, 'gho_refreshed', refreshed.body)
  t.equal(fake.requests.at(-1)!.form.refresh_token, 'ghr_second', 'the kept token still refreshes')
})

t.test('a tenant without webhook endpoints still revokes what re-consent and unlink leave behind', async (t) => {
  // The connection-event trigger skips its work for a change nobody hears only when nothing revokes either.
  const tenant = uniqueTenant('quiet')
  const fake = await startFakeTokenEndpoint(t)
  const res = await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
    payload: { token_endpoint: fake.tokenEndpoint, revocation_endpoint: fake.revocationEndpoint, client_id: 'c', client_secret: 's' },
  })
  t.equal(res.statusCode, 201, res.body)
  await pushWithRefresh(tenant, 'alice', 'ghr_quiet_first')
  clock.now = new Date(clock.now.getTime() + 1000)
  await pushWithRefresh(tenant, 'alice', 'ghr_quiet_second')
  t.equal(await queued(tenant), 1, 're-consent queued the replaced token')
  t.match((await app.inject({ method: 'DELETE', url: connectionPath({ tenant }) })).json(), { revocations_scheduled: 1 })
  t.same(await revokeDue(), ['revoked', 'revoked'])
  t.same(
    fake.revocations.map((r) => r.form.token).sort(),
    ['ghr_quiet_first', 'ghr_quiet_second'],
    'both, in whichever order they were sent',
  )
  const events = await sql<{ n: number }>`SELECT count(*)::int AS n FROM events WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal(events.rows[0]!.n, 0, 'and no event is kept for nobody')
})

t.test('a revocation endpoint that is down is retried; given up after the retry period, the token is erased', async (t) => {
  const tenant = uniqueTenant('down')
  const fake = await startFakeTokenEndpoint(t)
  await connector(t, tenant, fake)
  fake.revocationAnswer = () => ({ status: 503 })
  await pushWithRefresh(tenant, 'alice', 'ghr_retry')
  await pushWithRefresh(tenant, 'bob', 'ghr_given_up')
  await app.inject({ method: 'DELETE', url: connectionPath({ tenant }) })
  t.same(await revokeDue(), ['retry'])
  t.same(await revokeDue(), [], 'backing off')
  const row = await sql<{ last_error: string; next_attempt_at: Date }>`
    SELECT last_error, next_attempt_at FROM token_revocations WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.equal(row.rows[0]!.last_error, 'provider.http_503')
  t.ok(row.rows[0]!.next_attempt_at.getTime() <= clock.now.getTime() + 5000)
  fake.revocationAnswer = () => ({ status: 200 })
  clock.now = new Date(clock.now.getTime() + 6000)
  t.same(await revokeDue(), ['revoked'])
  t.same(
    fake.revocations.map((r) => r.form.token),
    ['ghr_retry', 'ghr_retry'],
  )

  fake.revocationAnswer = () => ({ status: 500 })
  await app.inject({ method: 'DELETE', url: connectionPath({ tenant, user: 'bob' }) })
  t.same(await revokeDue(), ['retry'])
  clock.now = new Date(clock.now.getTime() + 25 * HOUR_MS)
  t.same(await revokeDue(), ['given_up'])
  t.equal(await queued(tenant), 0, 'erased')
  t.match((await revokedEvents(tenant)).at(-1), { user_id: 'bob', outcome: 'given_up', revoked: [], error: 'provider.http_500' })
  const audit = await sql<{ outcome: string; error_code: string }>`
    SELECT outcome, error_code FROM audit_events WHERE tenant_id = ${tenant} AND action = 'token_set.revoke' AND user_id = 'bob'`.execute(
    database.admin,
  )
  t.same(audit.rows, [{ outcome: 'failed', error_code: 'provider.http_500' }])
})

t.test('nothing is queued when the connector cannot or may not revoke; discovery names the endpoint for an issuer', async (t) => {
  const tenant = uniqueTenant('when')
  const fake = await startFakeTokenEndpoint(t)
  await connector(t, tenant, fake, { revocation_endpoint: undefined })
  await pushWithRefresh(tenant, 'alice', 'ghr_nowhere')
  t.same(
    (await app.inject({ method: 'DELETE', url: connectionPath({ tenant }) })).json(),
    { deleted: 1, revocations_scheduled: 0 },
    'GitHub-like: no endpoint',
  )

  const off = await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
    payload: {
      token_endpoint: fake.tokenEndpoint,
      revocation_endpoint: fake.revocationEndpoint,
      client_id: 'c',
      client_secret: 's',
      revoke_tokens: false,
    },
  })
  t.match(off.json(), { revoke_tokens: false, revocation_endpoint: fake.revocationEndpoint })
  await pushWithRefresh(tenant, 'alice', 'ghr_off')
  t.same(
    (await app.inject({ method: 'DELETE', url: connectionPath({ tenant }) })).json(),
    { deleted: 1, revocations_scheduled: 0 },
    'turned off',
  )

  const oidc = uniqueTenant('issuer')
  const byIssuer = await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${oidc}/connectors/social/github/refresh-settings`,
    payload: { issuer: fake.issuer, client_id: 'c', client_secret: 's' },
  })
  t.equal(byIssuer.json().revocation_endpoint, null)
  await pushWithRefresh(oidc, 'alice', 'ghr_discovered')
  t.match((await app.inject({ method: 'DELETE', url: connectionPath({ tenant: oidc }) })).json(), { revocations_scheduled: 1 })
  t.same(await revokeDue(), ['revoked'])
  t.equal(fake.revocations.at(-1)!.form.token, 'ghr_discovered', 'sent to the endpoint discovery names')
  t.equal(fake.revocations.length, 1)
})

t.test('a queued revocation or a connector changed in SQL sends nothing anywhere', async (t) => {
  const tenant = uniqueTenant('tamper')
  const fake = await startFakeTokenEndpoint(t)
  const attacker = await startFakeTokenEndpoint(t)
  await connector(t, tenant, fake)
  await pushWithRefresh(tenant, 'alice', 'ghr_a')
  await pushWithRefresh(tenant, 'bob', 'ghr_b')
  await app.inject({ method: 'DELETE', url: connectionPath({ tenant }) })
  await sql`UPDATE token_revocations SET revocation_endpoint = ${attacker.revocationEndpoint} WHERE tenant_id = ${tenant}`.execute(
    database.admin,
  )
  t.same(await revokeDue(), ['given_up'])
  t.same(attacker.revocations, [], 'the attacker got nothing')
  t.same(fake.revocations, [])
  t.match((await revokedEvents(tenant)).at(-1), { outcome: 'given_up', error: 'crypto.integrity' })

  // A queue row forged from a live connection's row, its reason saying "deleted": never revoked.
  await pushWithRefresh(tenant, 'carol', 'ghr_live')
  await sql`INSERT INTO token_revocations (tenant_id, token_set_id, user_id, connector_type, connector_id, reason,
      token_key_version, refresh_server, refresh_token_sealed, token_endpoint, issuer, client_id, client_auth_method,
      extra_params, revocation_endpoint, revoke_tokens, settings_key_version, client_secret_sealed)
    SELECT ts.tenant_id, ts.id, ts.user_id, ts.connector_type, ts.connector_id, 'deleted', ts.key_version, ts.refresh_server,
      ts.refresh_token_sealed, crs.token_endpoint, crs.issuer, crs.client_id, crs.client_auth_method, crs.extra_params,
      crs.revocation_endpoint, crs.revoke_tokens, crs.key_version, crs.client_secret_sealed
    FROM token_sets ts JOIN connector_refresh_settings crs ON crs.tenant_id = ts.tenant_id AND crs.connector_id = ts.connector_id
    WHERE ts.tenant_id = ${tenant} AND ts.user_id = 'carol'`.execute(database.admin)
  t.same(await revokeDue(), ['not_needed'])
  t.same(fake.revocations, [], 'the live token was not sent')

  await sql`UPDATE connector_refresh_settings SET revocation_endpoint = ${attacker.revocationEndpoint} WHERE tenant_id = ${tenant}`.execute(
    database.admin,
  )
  clock.now = new Date(clock.now.getTime() + 2 * HOUR_MS)
  const read = await app.inject({ method: 'GET', url: `${connectionPath({ tenant, user: 'bob' })}/access-token` })
  t.equal(read.json().code, 'crypto.integrity', 'the revocation endpoint is bound into the settings: a refresh refuses them too')
  await app.inject({ method: 'DELETE', url: connectionPath({ tenant, user: 'bob' }) })
  t.same(await revokeDue(), ['given_up'])
  t.same(attacker.revocations, [])
  t.same(attacker.requests, [])
})

t.test('a revocation endpoint is checked like every outbound URL', async (t) => {
  const tenant = uniqueTenant('egress')
  for (const [revocation_endpoint, code, status] of [
    ['https://169.254.169.254/revoke', 'egress.refused', 400],
    ['https://10.1.2.3/revoke', 'egress.refused', 400],
    ['not a url', 'request.invalid', 400],
  ] as const) {
    const res = await app.inject({
      method: 'PUT',
      url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
      payload: { token_endpoint: 'https://github.com/login/oauth/access_token', revocation_endpoint, client_id: 'c', client_secret: 's' },
    })
    t.equal(res.statusCode, status, revocation_endpoint)
    t.equal(res.json().code, code)
    t.match(res.json().issues[0].path, 'body.revocation_endpoint')
  }
  const bad = await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
    payload: { token_endpoint: 'https://github.com/login/oauth/access_token', client_id: 'c', client_secret: 's', revoke_tokens: 'yes' },
  })
  t.equal(bad.json().code, 'request.invalid')
  t.match(bad.json().issues[0].path, 'body.revoke_tokens')
})

t.test('a key provider out of reach delays a revocation and a delivery; it never erases or kills them', async (t) => {
  const tenant = uniqueTenant('outage')
  const fake = await startFakeTokenEndpoint(t)
  await connector(t, tenant, fake)
  await pushWithRefresh(tenant, 'alice', 'ghr_outage')
  await app.inject({ method: 'DELETE', url: connectionPath({ tenant }) })
  // A replica whose key provider is down: every unwrap fails as KMS does when unreachable.
  let down = true
  const keyRing = createDataKeyRing({ provider: ctx.provider, ttlMs: 60_000, maxEntries: 100 })
  const flaky = {
    ...keyRing,
    unwrap: (wrapped: Parameters<typeof keyRing.unwrap>[0]) =>
      down ? Promise.reject(new VaultError('key.unavailable', 'The key provider cannot be reached')) : keyRing.unwrap(wrapped),
  }
  const replica = await buildTestApp(t, database, { provider: ctx.provider, keyRing: flaky })
  replica.clock.now = clock.now
  t.same(await replica.app.server.revocations.revokeDue(), ['retry'])
  // Every due delivery of the file is claimed, a batch at a time, until none is left due.
  const outcomes: string[] = []
  for (let round = 0; round < 50; round++) {
    const batch = await replica.app.server.webhookDelivery.deliverDue()
    if (batch.length === 0) break
    outcomes.push(...batch)
  }
  t.notOk(outcomes.includes('dead'), 'no delivery given up')
  t.equal(await queued(tenant), 1, 'the queued token is kept')
  const row = await sql<{ last_error: string }>`SELECT last_error FROM token_revocations WHERE tenant_id = ${tenant}`.execute(
    database.admin,
  )
  t.equal(row.rows[0]!.last_error, 'key.unavailable')
  const delivery = await sql<{ state: string; last_error: string }>`
    SELECT state, last_error FROM webhook_deliveries WHERE tenant_id = ${tenant}`.execute(database.admin)
  t.same(
    delivery.rows,
    delivery.rows.map(() => ({ state: 'pending', last_error: 'key.unavailable' })),
  )
  t.equal(delivery.rows.length, 2, "its push's and its delete's")
  t.same(fake.revocations, [], 'nothing was sent')

  down = false
  replica.clock.now = new Date(clock.now.getTime() + 10_000)
  t.same(await replica.app.server.revocations.revokeDue(), ['revoked'])
  t.same(
    fake.revocations.map((r) => r.form.token),
    ['ghr_outage'],
  )
})
