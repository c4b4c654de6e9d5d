import t, { type Test } from 'tap'
import { createDataKeyRing } from '../../src/keys/data-key-ring.ts'
import { buildTestApp, countRows, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { githubPush, push, readAccessToken } from '../support/http.ts'
import { startKmsTestServer } from '../support/kms-test-server.ts'
import { kmsProvider } from '../support/kms.ts'

/** The service on the aws-kms provider, against the KMS test server, through HTTP. */
const database = await openTestDatabase(t)
const kms = await startKmsTestServer()
t.teardown(() => kms.close())
const rootKey = kms.createKey('alias/secret-vault')

async function appWithColdCache(t: Test, timeoutMs = 300) {
  const provider = await kmsProvider(kms, ['alias/secret-vault'], { maxAttempts: 2, timeoutMs })
  t.teardown(() => provider.close())
  return buildTestApp(t, database, { provider, keyRing: createDataKeyRing({ provider, ttlMs: 60_000, maxEntries: 100 }) })
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

t.test('readiness names the KMS misconfiguration', async (t) => {
  const { app } = await appWithColdCache(t)
  kms.mode = 'deny'
  t.teardown(() => {
    kms.mode = 'ok'
  })
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().checks.key_provider.status, 'failing')
  t.match(res.json().checks.key_provider.message, /access to the KMS key is denied/)
  t.equal(res.json().checks.database.status, 'ok')
})

t.test('stored data keys name the KMS key ARN that wrapped them', async (t) => {
  const { app } = await appWithColdCache(t)
  const tenant = uniqueTenant()
  await push(app, { tenant }, githubPush('gho_arn'))
  const row = await database.db.selectFrom('data_keys').select('root_key_id').where('tenant_id', '=', tenant).executeTakeFirstOrThrow()
  t.equal(row.root_key_id, rootKey)
})
