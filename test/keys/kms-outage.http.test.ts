import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { startFakeTokenEndpoint } from '../support/fake-token-endpoint.ts'
import { buildTestApp, countRows, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { githubPush, push, readAccessToken } from '../support/http.ts'
import { kmsProvider } from '../support/kms.ts'
import { startKmsTestServer } from '../support/kms-test-server.ts'

/** The service on the aws-kms provider, against the KMS test server, through HTTP. */
const database = await openTestDatabase(t)
const kms = await startKmsTestServer()
t.teardown(() => kms.close())
const rootKey = kms.createKey('alias/secret-vault')

async function appWithColdCache(t: Test, timeoutMs = 300) {
  const provider = await kmsProvider(kms, ['alias/secret-vault'], { maxAttempts: 2, timeoutMs })
  t.teardown(() => provider.close())
  return buildTestApp(t, database, { provider })
}

t.test('100 concurrent reads for a cold tenant make exactly one Decrypt', async (t) => {
  const writer = await appWithColdCache(t)
  const tenant = uniqueTenant()
  await push(writer.app, { tenant }, githubPush('gho_stampede'))
  // Another replica: its cache is cold. A generous timeout, so no SDK retry can count as a second call.
  const reader = await appWithColdCache(t, 10_000)
  const before = kms.calls.Decrypt ?? 0
  const reads = await Promise.all(Array.from({ length: 100 }, () => readAccessToken(reader.app, { tenant })))
  t.ok(reads.every((res) => res.statusCode === 200 && res.json().access_token === 'gho_stampede'))
  t.equal((kms.calls.Decrypt ?? 0) - before, 1)
})

t.test('a KMS outage does not stop tenants whose keys are cached; a cold key gets a retryable 503', async (t) => {
  const { app } = await appWithColdCache(t)
  const warm = uniqueTenant('warm')
  const cold = uniqueTenant('cold')
  await push(app, { tenant: warm }, githubPush('gho_warm'))
  const other = await appWithColdCache(t)
  await push(other.app, { tenant: cold }, githubPush('gho_cold'))

  kms.mode = 'outage'
  t.teardown(() => {
    kms.mode = 'ok'
  })
  const warmRead = await readAccessToken(app, { tenant: warm })
  t.equal(warmRead.statusCode, 200, 'reads go on')
  t.equal((await push(app, { tenant: warm, user: 'bob' }, githubPush('gho_warm_bob'))).statusCode, 201, 'writes go on')

  const coldRead = await readAccessToken(app, { tenant: cold })
  t.equal(coldRead.statusCode, 503)
  t.equal(coldRead.json().code, 'key.unavailable')
  t.equal(coldRead.headers['retry-after'], '2')
  t.notMatch(coldRead.body, 'gho_cold')

  const fresh = uniqueTenant('fresh')
  const freshPush = await push(app, { tenant: fresh }, githubPush('gho_fresh'))
  t.equal(freshPush.statusCode, 503, 'a new tenant cannot get a data key')
  t.equal(freshPush.json().code, 'key.unavailable')
  t.equal(await countRows(database, 'token_sets', fresh), 0, 'nothing stored')
  t.equal(await countRows(database, 'data_keys', fresh), 0)

  kms.mode = 'ok'
  t.equal((await readAccessToken(app, { tenant: cold })).statusCode, 200, 'recovers with KMS')
})

t.test('a hanging KMS leaves the replica ready: readiness never calls it, and reports what real calls found', async (t) => {
  const { app, logs } = await appWithColdCache(t)
  const warm = uniqueTenant('warm')
  await push(app, { tenant: warm }, githubPush('gho_warm'))
  const other = await appWithColdCache(t)
  const cold = uniqueTenant('cold')
  await push(other.app, { tenant: cold }, githubPush('gho_cold'))

  kms.latencyMs = 5_000
  t.teardown(() => {
    kms.latencyMs = 0
  })
  const callsBefore = Object.values(kms.calls).reduce((sum, n) => sum + n, 0)
  const started = Date.now()
  for (let probe = 0; probe < 5; probe++) {
    const ready = await app.inject({ method: 'GET', url: '/readyz' })
    t.equal(ready.statusCode, 200, 'ready while the database answers')
  }
  t.ok(Date.now() - started < 1_000, 'probes do not wait for KMS')
  t.equal(
    Object.values(kms.calls).reduce((sum, n) => sum + n, 0),
    callsBefore,
    'no probe called KMS',
  )
  t.equal((await readAccessToken(app, { tenant: warm })).statusCode, 200, 'a cached tenant is served')

  const coldRead = await readAccessToken(app, { tenant: cold })
  t.equal(coldRead.json().code, 'key.unavailable')
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), {
    status: 'ready',
    checks: { database: { status: 'ok' }, key_provider: { status: 'unavailable', message: /unavailable/ } },
  })
  t.ok(
    logs.some((line) => line.includes('key provider is failing') && line.includes('"state":"unavailable"')),
    'the change is logged',
  )
  const metrics = await app.inject({ method: 'GET', url: '/metrics' })
  t.match(metrics.body, /secret_vault_key_provider_state\{state="unavailable"\} 1/)

  kms.latencyMs = 0
  t.equal((await readAccessToken(app, { tenant: cold })).statusCode, 200, 'recovers with KMS')
  t.match((await app.inject({ method: 'GET', url: '/readyz' })).json(), { checks: { key_provider: { status: 'ok' } } })
  t.ok(logs.some((line) => line.includes('key provider answers again')))
})

t.test('a root key disabled at run time: key.provider_misconfigured, counted and reported, never a generic 500', async (t) => {
  const arn = kms.createKey('alias/disabled-later')
  const provider = await kmsProvider(kms, ['alias/disabled-later'], { maxAttempts: 1 })
  t.teardown(() => provider.close())
  const writer = await buildTestApp(t, database, { provider })
  const tenant = uniqueTenant('disabled')
  await push(writer.app, { tenant }, githubPush('gho_disabled'))
  const reader = await buildTestApp(t, database, { provider })
  kms.disableKey(arn)
  t.teardown(() => kms.setKeyState(arn, 'Enabled'))
  const res = await readAccessToken(reader.app, { tenant })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'key.provider_misconfigured')
  t.match(res.json().detail, /disabled/)
  t.notMatch(res.body, 'gho_disabled')
  const ready = await reader.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200, 'the database answers: still ready')
  t.match(ready.json(), { checks: { key_provider: { status: 'misconfigured', message: /disabled/ } } })
  t.match(
    (await reader.app.inject({ method: 'GET', url: '/metrics' })).body,
    /secret_vault_errors_total\{code="key.provider_misconfigured"\} 1/,
  )
})

t.test('stored data keys name the KMS key ARN that wrapped them', async (t) => {
  const { app } = await appWithColdCache(t)
  const tenant = uniqueTenant()
  await push(app, { tenant }, githubPush('gho_arn'))
  const row = await database.admin.selectFrom('data_keys').select('root_key_id').where('tenant_id', '=', tenant).executeTakeFirstOrThrow()
  t.equal(row.root_key_id, rootKey)
})

t.test('a keep-alive sweep during a KMS outage reports an error, asks no provider and changes nothing', async (t) => {
  const writer = await appWithColdCache(t)
  const tenant = uniqueTenant('keep-alive')
  const fake = await startFakeTokenEndpoint(t)
  fake.answer = () => ({ body: { access_token: 'gho_kept_alive', token_type: 'bearer', expires_in: 3600 } })
  const settings = await writer.app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
    payload: {
      token_endpoint: fake.tokenEndpoint,
      client_id: 'c1',
      client_secret: 'cs',
      refresh_policy: { keep_alive_idle_seconds: 3600 },
    },
  })
  t.equal(settings.statusCode, 201, settings.body)
  const idle = githubPush(
    'gho_idle',
    { issued_at: new Date(Date.now() - 2 * 3_600_000).toISOString() },
    { refresh_token: 'ghr_idle_secret' },
  )
  t.equal((await push(writer.app, { tenant }, idle)).statusCode, 201)
  t.teardown(() => sql`DELETE FROM token_sets WHERE tenant_id = ${tenant}`.execute(database.admin))
  const stored = () =>
    sql<{ row: string }>`SELECT row(ts.*)::text AS row FROM token_sets ts WHERE tenant_id = ${tenant}`.execute(database.admin)
  const before = (await stored()).rows

  // Another replica, its cache cold: the set's data key cannot be opened while KMS is down.
  const sweeper = await appWithColdCache(t)
  kms.mode = 'outage'
  t.teardown(() => {
    kms.mode = 'ok'
  })
  t.same(await sweeper.app.server.keepAlive.sweep(), ['error'], 'not "skipped": the set can be refreshed once KMS answers')
  t.equal(fake.requests.length, 0, 'no provider was asked')
  t.same((await stored()).rows, before, 'the set is as it was')
  t.match(
    (await sweeper.app.inject({ method: 'GET', url: '/metrics' })).body,
    /secret_vault_keep_alive_refreshes_total\{outcome="error"\} 1\n/,
  )
  const logged = sweeper.logs.filter((line) => line.includes('keep-alive refresh failed'))
  t.equal(logged.length, 1)
  t.notMatch(logged[0], /ghr_idle_secret|gho_idle|alice/, 'no token and no user in the log line')

  kms.mode = 'ok'
  t.same(await sweeper.app.server.keepAlive.sweep(), ['refreshed'], 'with KMS back, the next sweep keeps it alive')
  t.equal(fake.requests[0]!.form.refresh_token, 'ghr_idle_secret')
})

t.test('audit sealing during a KMS outage fails loudly, stores nothing, and seals once KMS is back', async (t) => {
  const writer = await appWithColdCache(t)
  const tenant = uniqueTenant('sealing')
  t.equal((await push(writer.app, { tenant }, githubPush('gho_sealed_later'))).statusCode, 201)
  const digests = async () =>
    (await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_digests WHERE tenant_id = ${tenant}`.execute(database.admin)).rows[0]!.n

  // Another replica, its cache cold: the tenant's data key cannot be unwrapped while KMS is down.
  const sealer = await appWithColdCache(t)
  kms.mode = 'outage'
  t.teardown(() => {
    kms.mode = 'ok'
  })
  await sealer.app.server.auditSealer.sealNow()
  t.equal(await digests(), 0, 'no digest without the key')
  t.match((await sealer.app.inject({ method: 'GET', url: '/metrics' })).body, /secret_vault_audit_seals_total\{outcome="failed"\} [1-9]/)
  const logged = sealer.logs.filter((line) => line.includes('audit sealing failed') && line.includes(tenant))
  t.equal(logged.length, 1, 'the tenant named in the log line')
  t.notMatch(logged[0], /gho_sealed_later/, 'never a token')

  kms.mode = 'ok'
  t.ok((await sealer.app.server.auditSealer.sealNow()) >= 1)
  t.equal(await digests(), 1, 'sealed by the next round')
  t.match((await sealer.app.inject({ method: 'GET', url: '/metrics' })).body, /secret_vault_audit_seals_total\{outcome="sealed"\} [1-9]/)
})
