import { Webhook } from 'standardwebhooks'
import t from 'tap'
import { destroyDataKey, shredTenant } from '../../src/key-lifecycle/destroy-and-shred.ts'
import { reencryptTokenSets } from '../../src/key-lifecycle/reencrypt-token-sets.ts'
import { rotateDataKey } from '../../src/key-lifecycle/rotate-data-keys.ts'
import { rotateRootKey } from '../../src/key-lifecycle/rotate-root-key.ts'
import { createLocalKeyProvider } from '../../src/keys/local-key-provider.ts'
import { buildTestApp, openTestDatabase, randomRootKey, uniqueTenant } from '../support/helper.ts'
import { githubPush, push } from '../support/http.ts'
import { startWebhookReceiver } from '../support/webhook-receiver.ts'

/** Key operations an operator runs reach the tenant's endpoints as events, from the operation's transaction. */
const database = await openTestDatabase(t)
const [root1, root2] = [randomRootKey('root-1'), randomRootKey('root-2')]
const { app, keyRing } = await buildTestApp(t, database, { provider: createLocalKeyProvider([root1, root2], 'root-1') })

t.test('rotate, re-encrypt, destroy and rotate the root key: each an event; a shred sends none', async (t) => {
  const tenant = uniqueTenant('keys')
  const receiver = await startWebhookReceiver(t)
  const created = await app.inject({ method: 'POST', url: `/v1/tenants/${tenant}/webhooks`, payload: { url: receiver.url } })
  const verifier = new Webhook(created.json().secret)
  await push(app, { tenant }, githubPush('gho_keys'))
  await app.server.webhookDelivery.deliverDue()
  receiver.received.length = 0
  const received = async () => {
    await app.server.webhookDelivery.deliverDue()
    const events = receiver.received.map((d) => {
      const realNow = Date.now
      Date.now = () => Number(d.headers['webhook-timestamp']) * 1000
      try {
        return verifier.verify(d.body, d.headers as Record<string, string>) as { type: string; data: Record<string, unknown> }
      } finally {
        Date.now = realNow
      }
    })
    receiver.received.length = 0
    return events.map(({ type, data }) => ({ type, data }))
  }

  await rotateDataKey(database.operator, createLocalKeyProvider([root1, root2], 'root-1'), tenant)
  t.same(await received(), [{ type: 'tenant.data_key_rotated', data: { tenant_id: tenant, key_version: 2 } }])
  keyRing.forgetTenant(tenant)
  const moved = await reencryptTokenSets(database.operator, keyRing, {
    tenantId: tenant,
    batchSize: 100,
    maxRate: undefined,
    parallelism: 1,
    signal: new AbortController().signal,
    onProgress: () => {},
  })
  t.match(moved, { remaining: 0 })
  t.same(await received(), [{ type: 'tenant.reencrypted', data: { tenant_id: tenant, key_version: null } }])
  t.same(await destroyDataKey(database.operator, tenant, 1), { destroyed: true })
  t.same(await received(), [{ type: 'tenant.data_key_destroyed', data: { tenant_id: tenant, key_version: 1 } }])
  const rewrapped = await rotateRootKey(database.operator, createLocalKeyProvider([root1, root2], 'root-2'), {
    to: 'root-2',
    dryRun: false,
  })
  t.match(rewrapped, { rewrapped: 1 })
  t.same(await received(), [{ type: 'tenant.root_key_rotated', data: { tenant_id: tenant, key_version: null } }])

  await shredTenant(database.operator, tenant)
  t.same(await received(), [], 'a shred erases the signing secrets with everything else: nothing is sent')
})
