import t from 'tap'
import { inTenantTransaction } from '../../src/db/tenant-scope.ts'
import { createDataKeyRing } from '../../src/keys/data-key-ring.ts'
import { createLocalKeyProvider } from '../../src/keys/local-key-provider.ts'
import { countingProvider, countRows, openTestDatabase, randomRootKey, uniqueTenant } from '../support/helper.ts'

const database = await openTestDatabase(t)

function ring(ttlMs = 60_000, maxEntries = 100) {
  const provider = countingProvider(createLocalKeyProvider([randomRootKey('root-1')], 'root-1'))
  return { provider, keyRing: createDataKeyRing({ provider, ttlMs, maxEntries }) }
}

t.test('a tenant gets one active data key on first use, wrapped and stored', async (t) => {
  const { provider, keyRing } = ring()
  const tenant = uniqueTenant()
  const first = await inTenantTransaction(database.db, tenant, (trx) => keyRing.activeKey(trx, tenant))
  const again = await inTenantTransaction(database.db, tenant, (trx) => keyRing.activeKey(trx, tenant))
  t.equal(first.version, 1)
  t.equal(again.version, 1)
  t.same(again.key.export(), first.key.export())
  t.equal(provider.calls.generateDataKey, 1)
  t.equal(provider.calls.decryptDataKey, 0, 'the generated key is cached, not unwrapped again')
  t.equal(await countRows(database, 'data_keys', tenant), 1)
})

t.test('concurrent first writes for a tenant agree on one data key', async (t) => {
  const { keyRing } = ring()
  const tenant = uniqueTenant()
  const keys = await Promise.all(
    Array.from({ length: 8 }, () => inTenantTransaction(database.db, tenant, (trx) => keyRing.activeKey(trx, tenant))),
  )
  t.equal(new Set(keys.map((key) => key.key.export().toString('hex'))).size, 1)
  t.equal(await countRows(database, 'data_keys', tenant), 1)
})

t.test('concurrent cold misses for one key unwrap it once', async (t) => {
  const creator = ring()
  const tenant = uniqueTenant()
  await inTenantTransaction(database.db, tenant, (trx) => creator.keyRing.activeKey(trx, tenant))
  // A second replica with a cold cache, sharing the same root key.
  const provider = countingProvider(creator.provider)
  const cold = createDataKeyRing({ provider, ttlMs: 60_000, maxEntries: 100 })
  const keys = await Promise.all(
    Array.from({ length: 50 }, () => inTenantTransaction(database.db, tenant, (trx) => cold.activeKey(trx, tenant))),
  )
  t.equal(provider.calls.decryptDataKey, 1)
  t.equal(new Set(keys.map((key) => key.key.export().toString('hex'))).size, 1)
  t.same(cold.stats(), { hits: 49, misses: 1, size: 1 })
})

t.test('the time limit sends the next use back to the provider', async (t) => {
  const creator = ring()
  const tenant = uniqueTenant()
  await inTenantTransaction(database.db, tenant, (trx) => creator.keyRing.activeKey(trx, tenant))
  const provider = countingProvider(creator.provider)
  const shortLived = createDataKeyRing({ provider, ttlMs: 200, maxEntries: 100 })
  await inTenantTransaction(database.db, tenant, (trx) => shortLived.activeKey(trx, tenant))
  await inTenantTransaction(database.db, tenant, (trx) => shortLived.activeKey(trx, tenant))
  t.equal(provider.calls.decryptDataKey, 1, 'cached within the limit')
  await new Promise((resolve) => setTimeout(resolve, 300))
  await inTenantTransaction(database.db, tenant, (trx) => shortLived.activeKey(trx, tenant))
  t.equal(provider.calls.decryptDataKey, 2, 'unwrapped again after the limit')
})

t.test('the cache is bounded and can forget a tenant', async (t) => {
  const { keyRing } = ring(60_000, 3)
  const tenants = Array.from({ length: 5 }, () => uniqueTenant())
  for (const tenant of tenants) await inTenantTransaction(database.db, tenant, (trx) => keyRing.activeKey(trx, tenant))
  t.equal(keyRing.stats().size, 3)
  keyRing.forgetTenant(tenants[4]!)
  t.equal(keyRing.stats().size, 2)
})
