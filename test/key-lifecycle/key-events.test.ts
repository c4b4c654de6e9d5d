import t from 'tap'
import { inOperatorTransaction, inTenantTransaction } from '../../src/db/tenant-scope.ts'
import { listenForKeyEvents, recordKeyOperation } from '../../src/key-lifecycle/key-events.ts'
import { rotateDataKey } from '../../src/key-lifecycle/rotate-data-keys.ts'
import { createDataKeyRing } from '../../src/keys/data-key-ring.ts'
import { createLocalKeyProvider } from '../../src/keys/local-key-provider.ts'
import { createLogger } from '../../src/logger.ts'
import { openTestDatabase, randomRootKey, uniqueTenant } from '../support/helper.ts'
import { TEST_DATABASE_URL } from '../support/test-database.ts'

t.test(
  'replicas hear of committed key operations, and only of committed ones',
  { skip: TEST_DATABASE_URL === undefined ? 'LISTEN/NOTIFY needs a PostgreSQL server; CI runs it' : false },
  async (t) => {
    const database = await openTestDatabase(t)
    const provider = createLocalKeyProvider([randomRootKey('root-1')], 'root-1')
    const keyRing = createDataKeyRing({ provider, ttlMs: 60_000, maxEntries: 10 })
    const tenant = uniqueTenant()
    await inTenantTransaction(database.db, tenant, (trx) => keyRing.activeKey(trx, tenant))

    const heard: string[] = []
    const listener = listenForKeyEvents(database.urls!.app, (tenantId) => heard.push(tenantId), createLogger('silent'))
    t.teardown(() => listener.close())

    // The listener connects in the background: rotate until it hears one (or give up after 5 s).
    for (let i = 0; i < 25 && !heard.includes(tenant); i++) {
      await rotateDataKey(database.operator, provider, tenant)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    t.ok(heard.includes(tenant), 'a rotation reaches the listener')

    const rolledBack = uniqueTenant('rolled-back')
    await t.rejects(
      inOperatorTransaction(database.operator, async (trx) => {
        await recordKeyOperation(trx, { tenantId: rolledBack, action: 'key.rotate', keyVersion: 2, requestId: 'r' })
        throw new Error('the operation failed')
      }),
    )
    await rotateDataKey(database.operator, provider, tenant)
    const before = heard.filter((id) => id === tenant).length
    for (let i = 0; i < 25 && heard.filter((id) => id === tenant).length === before; i++)
      await new Promise((resolve) => setTimeout(resolve, 100))
    t.notOk(heard.includes(rolledBack), 'a rolled-back operation tells nobody')
  },
)
