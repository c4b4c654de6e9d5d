import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { rotateDataKey } from '../../src/key-lifecycle/rotate-data-keys.ts'
import type { KeyProvider } from '../../src/keys/key-provider.ts'
import { createLocalKeyProvider } from '../../src/keys/local-key-provider.ts'
import type { TokenSetKey, TokenSetWrite } from '../../src/token-sets/token-set.repository.ts'
import * as repository from '../../src/token-sets/token-set.repository.ts'
import { buildTestApp, openTestDatabase, randomRootKey, uniqueTenant } from '../support/helper.ts'
import { githubPush, push, readAccessToken } from '../support/http.ts'
import { TEST_DATABASE_URL } from '../support/test-database.ts'

/** The batched statements themselves, as the service calls them: many connections, tenants and outcomes at once. */
const database = await openTestDatabase(t)
const { app, provider } = await buildTestApp(t, database)

const key = (tenantId: string, userId: string): TokenSetKey => ({ tenantId, userId, connectorType: 'social', connectorId: 'github' })

async function stored(tenantId: string, userId: string) {
  const result = await sql<{ id: string; issued_at: Date; key_version: number; access_token_sealed: Uint8Array }>`
    SELECT id, issued_at, key_version, access_token_sealed FROM token_sets
    WHERE tenant_id = ${tenantId} AND user_id = ${userId}`.execute(database.admin)
  return result.rows[0]
}

/** A write as preparePushes would lead to; the sealed bytes are opaque to the statement. */
function write(issuedAt: Date, marker: string, refreshToken: Uint8Array | null = null): TokenSetWrite {
  return {
    target: 'github',
    issuer: null,
    provider_subject: null,
    token_type: 'Bearer',
    scope: 'repo',
    expires_at: null,
    issued_at: issuedAt,
    key_version: 1,
    write_id: randomUUID(),
    access_token_sealed: Buffer.from(marker),
    refresh_token_sealed: refreshToken,
    refresh_server: null,
    id_token_sealed: null,
  }
}

/** The batched write as the service calls it, each push recorded under its own request id. */
let batchCounter = 0
function writeBatch(
  pushes: Array<Omit<repository.PushedWrite, 'audit' | 'hasRefreshToken' | 'refreshServerFromSettings'> & { hasRefreshToken?: boolean }>,
) {
  batchCounter += 1
  const requestIds = pushes.map((_, i) => `batch-${process.pid}-${batchCounter}-${i}`)
  const results = repository.writePushedTokenSets(
    database.db,
    pushes.map((push, i) => ({
      ...push,
      // Every seeded row has a refresh token: an update keeps it, an insert has one only if it carries one.
      hasRefreshToken: push.hasRefreshToken ?? (!push.isNew || push.write.refresh_token_sealed !== null),
      refreshServerFromSettings: true,
      audit: { requestId: requestIds[i]!, clientId: 'identity-core' },
    })),
    'token_set.push',
  )
  return Object.assign(results, { requestIds })
}

/** The push events recorded for these request ids, as the owner sees them. */
async function pushEvents(requestIds: readonly string[]) {
  const result = await sql<{
    request_id: string
    tenant_id: string
    user_id: string
    client_id: string
    outcome: string
    key_version: number
  }>`
    SELECT request_id, tenant_id, user_id, client_id, outcome, key_version FROM audit_events
    WHERE action = 'token_set.push' AND request_id = ANY(${[...requestIds]}::text[]) ORDER BY request_id`.execute(database.admin)
  return result.rows
}

async function seed(tenant: string, user: string, issuedAt: Date) {
  const res = await push(
    app,
    { tenant, user },
    githubPush(`gho_${user}`, { issued_at: issuedAt.toISOString() }, { refresh_token: `ghr_${user}` }),
  )
  t.equal(res.statusCode, 201)
  return (await stored(tenant, user))!
}

t.test("reads: each position gets its own tenant's row, and the statement records exactly the reads served as stored", async (t) => {
  const [a, b] = [uniqueTenant('read-a'), uniqueTenant('read-b')]
  const alice = await seed(a, 'alice', new Date())
  const bob = await seed(b, 'bob', new Date())
  // carol's token expires in ten minutes; dave's grant is gone.
  await seed(a, 'carol', new Date())
  await seed(a, 'dave', new Date())
  await sql`UPDATE token_sets SET expires_at = now() + interval '10 minutes' WHERE tenant_id = ${a} AND user_id = 'carol'`.execute(
    database.admin,
  )
  await sql`UPDATE token_sets SET state = 'reauth_required' WHERE tenant_id = ${a} AND user_id = 'dave'`.execute(database.admin)
  const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000)
  const reads: [TokenSetKey, string[], Date][] = [
    [key(b, 'bob'), [], inMinutes(0)],
    [key(a, 'nobody'), [], inMinutes(0)],
    [key(a, 'alice'), ['repo'], inMinutes(0)],
    [key(a, 'alice'), ['repo', 'admin:org'], inMinutes(0)],
    [key(a, 'bob'), [], inMinutes(0)],
    [key(a, 'carol'), [], inMinutes(5)],
    [key(a, 'carol'), [], inMinutes(15)],
    [key(a, 'dave'), [], inMinutes(0)],
  ]
  batchCounter += 1
  const requestIds = reads.map((_, i) => `read-${process.pid}-${batchCounter}-${i}`)
  const rows = await repository.readTokenSets(
    database.db,
    reads.map(([k, requiredScopes, serveUntil], i) => ({
      key: k,
      requiredScopes,
      serveUntil,
      audit: { requestId: requestIds[i]!, clientId: 'account-api' },
    })),
    'token_set.read',
  )
  t.equal(rows.length, reads.length)
  t.equal(rows[0]?.id, bob.id)
  t.same(Buffer.from(rows[0]!.access_token_sealed), Buffer.from(bob.access_token_sealed))
  t.equal(rows[0]?.dataKey.tenantId, b)
  t.equal(rows[1], undefined)
  t.equal(rows[2]?.id, alice.id)
  t.equal(rows[2]?.dataKey.tenantId, a)
  t.equal(rows[4], undefined, "another tenant's user is not found")
  t.same(
    rows.map((row) => row?.recorded),
    [true, undefined, true, false, undefined, true, false, false],
    'recorded: active, every required scope granted, valid past serveUntil',
  )

  const events = await sql<{
    request_id: string
    tenant_id: string
    user_id: string
    client_id: string
    action: string
    outcome: string
    key_version: number
  }>`
    SELECT request_id, tenant_id, user_id, client_id, action, outcome, key_version FROM audit_events
    WHERE request_id = ANY(${requestIds}::text[]) ORDER BY request_id`.execute(database.admin)
  t.same(events.rows, [
    {
      request_id: requestIds[0],
      tenant_id: b,
      user_id: 'bob',
      client_id: 'account-api',
      action: 'token_set.read',
      outcome: 'success',
      key_version: 1,
    },
    {
      request_id: requestIds[2],
      tenant_id: a,
      user_id: 'alice',
      client_id: 'account-api',
      action: 'token_set.read',
      outcome: 'success',
      key_version: 1,
    },
    {
      request_id: requestIds[5],
      tenant_id: a,
      user_id: 'carol',
      client_id: 'account-api',
      action: 'token_set.read',
      outcome: 'success',
      key_version: 1,
    },
  ])
})

t.test('prepares: the active key per tenant and what is stored per connection', async (t) => {
  const tenant = uniqueTenant('prepare')
  const alice = await seed(tenant, 'alice', new Date())
  const targets = await repository.preparePushes(database.db, [
    key(tenant, 'new-user'),
    key(tenant, 'alice'),
    key(uniqueTenant('no-key'), 'alice'),
  ])
  t.equal(targets[0]?.activeKey.version, 1)
  t.equal(targets[0]?.existing, undefined)
  t.same(targets[1]?.existing, { id: alice.id, keyVersion: 1, issuedAt: alice.issued_at, hasRefreshToken: true })
  t.equal(targets[2], undefined, 'a tenant without a data key has no target')
})

t.test('writes: every outcome in one batch, across tenants, each as if alone', async (t) => {
  const [tenant, other] = [uniqueTenant('write'), uniqueTenant('write-other')]
  const earlier = new Date(Date.now() - 60_000)
  const alice = await seed(tenant, 'alice', earlier)
  const carol = await seed(tenant, 'carol', new Date())
  await seed(other, 'zed', new Date())
  const bobId = randomUUID()
  const [dave1, dave2] = [randomUUID(), randomUUID()]
  const frankId = randomUUID()
  const batch = writeBatch([
    { key: key(tenant, 'bob'), id: bobId, isNew: true, write: write(new Date(), 'bob') },
    { key: key(tenant, 'alice'), id: alice.id, isNew: false, write: write(new Date(), 'alice-new') },
    { key: key(tenant, 'carol'), id: carol.id, isNew: false, write: write(earlier, 'carol-old') },
    { key: key(tenant, 'dave'), id: dave1, isNew: true, write: write(new Date(), 'dave-1') },
    { key: key(tenant, 'dave'), id: dave2, isNew: true, write: write(new Date(), 'dave-2') },
    { key: key(tenant, 'alice'), id: randomUUID(), isNew: false, write: write(new Date(), 'alice-gone') },
    { key: key(other, 'frank'), id: frankId, isNew: true, write: write(new Date(), 'frank') },
  ])
  const results = await batch
  t.same(
    results.map((result) => result && { outcome: result.outcome, id: result.row.id, tenant: result.row.tenant_id }),
    [
      { outcome: 'created', id: bobId, tenant },
      { outcome: 'updated', id: alice.id, tenant },
      { outcome: 'ignored_stale', id: carol.id, tenant },
      { outcome: 'created', id: dave1, tenant },
      undefined, // the same new connection twice: the second takes the transactional path
      undefined, // a row that is not the one prepared: the transactional path
      { outcome: 'created', id: frankId, tenant: other },
    ],
  )
  t.equal(results[1]?.row.has_refresh_token, true, 'an update without a refresh token keeps the stored one')
  t.same(Buffer.from((await stored(tenant, 'alice'))!.access_token_sealed), Buffer.from('alice-new'))
  t.same(
    Buffer.from((await stored(tenant, 'carol'))!.access_token_sealed),
    Buffer.from(carol.access_token_sealed),
    'a stale push changes nothing',
  )
  t.same(Buffer.from((await stored(tenant, 'dave'))!.access_token_sealed), Buffer.from('dave-1'))
  const ids = batch.requestIds
  t.same(
    await pushEvents(ids),
    [
      { request_id: ids[0], tenant_id: tenant, user_id: 'bob', client_id: 'identity-core', outcome: 'success', key_version: 1 },
      { request_id: ids[1], tenant_id: tenant, user_id: 'alice', client_id: 'identity-core', outcome: 'success', key_version: 1 },
      { request_id: ids[2], tenant_id: tenant, user_id: 'carol', client_id: 'identity-core', outcome: 'success', key_version: 1 },
      { request_id: ids[3], tenant_id: tenant, user_id: 'dave', client_id: 'identity-core', outcome: 'success', key_version: 1 },
      { request_id: ids[6], tenant_id: other, user_id: 'frank', client_id: 'identity-core', outcome: 'success', key_version: 1 },
    ],
    'one event per push that got an outcome, under its own tenant; none for the pushes sent to the transactional path',
  )
})

t.test('writes: an element for another tenant cannot land in the tenant it names wrongly', async (t) => {
  const [tenant, other] = [uniqueTenant('cross'), uniqueTenant('cross-other')]
  const alice = await seed(tenant, 'alice', new Date(Date.now() - 60_000))
  // The other tenant names alice's row id: under its own tenant setting the row does not exist.
  await seed(other, 'zed', new Date())
  const [result] = await writeBatch([{ key: key(other, 'alice'), id: alice.id, isNew: false, write: write(new Date(), 'pwned') }])
  t.equal(result, undefined)
  t.same(Buffer.from((await stored(tenant, 'alice'))!.access_token_sealed), Buffer.from(alice.access_token_sealed))
})

t.test('writes: a remembered row id must still name the connection, and the key must still be active', async (t) => {
  const tenant = uniqueTenant('remembered')
  const alice = await seed(tenant, 'alice', new Date(Date.now() - 60_000))
  await seed(tenant, 'bob', new Date(Date.now() - 60_000))
  const batch = writeBatch([
    // bob's push carrying alice's row id: alice's token must not be overwritten with bob's.
    { key: key(tenant, 'bob'), id: alice.id, isNew: false, write: write(new Date(), 'bob-into-alice') },
    // Sealed under a version that is not the tenant's active one (there is no version 2).
    { key: key(tenant, 'alice'), id: alice.id, isNew: false, write: { ...write(new Date(), 'alice-v2'), key_version: 2 } },
    { key: key(tenant, 'carol'), id: randomUUID(), isNew: true, write: { ...write(new Date(), 'carol-v2'), key_version: 2 } },
  ])
  const results = await batch
  t.same(results, [undefined, undefined, undefined], 'nothing written: each takes a slower path')
  t.same(Buffer.from((await stored(tenant, 'alice'))!.access_token_sealed), Buffer.from(alice.access_token_sealed))
  t.equal(await stored(tenant, 'carol'), undefined)
  t.same(await pushEvents(batch.requestIds), [], 'and nothing recorded')
})

t.test(
  'a push to a connection this replica pushed to before takes one statement; a stale memory costs a detour, never a wrong write',
  async (t) => {
    const tenant = uniqueTenant('memory')
    const ref = { tenant, user: 'alice' }
    // The tenant's first push creates its data key (the transactional path); the second one asks what is
    // stored (the prepared path) and the replica remembers the answer.
    t.equal((await push(app, ref, githubPush('gho_0', {}, { refresh_token: 'ghr_1' }))).statusCode, 201)
    t.equal((await push(app, ref, githubPush('gho_1'))).statusCode, 200)
    const first = (await stored(tenant, 'alice'))!

    // Without the prepare statement, only the remembered path can store the next push.
    await sql`ALTER FUNCTION vault_prepare_pushes(text[], text[], text[], text[]) RENAME TO vault_prepare_pushes_hidden`.execute(
      database.admin,
    )
    const unhide = () =>
      sql`ALTER FUNCTION vault_prepare_pushes_hidden(text[], text[], text[], text[]) RENAME TO vault_prepare_pushes`.execute(database.admin)
    const remembered = await push(app, ref, githubPush('gho_2'))
    await unhide()
    t.equal(remembered.statusCode, 200)
    t.equal(remembered.json().result, 'updated')
    t.equal(remembered.json().connection.has_refresh_token, true, 'the stored refresh token is kept')
    t.equal((await readAccessToken(app, ref)).json().access_token, 'gho_2')

    // The row is gone (deleted here or by another replica): the push creates a new one.
    await sql`DELETE FROM token_sets WHERE tenant_id = ${tenant}`.execute(database.admin)
    const recreated = await push(app, ref, githubPush('gho_3'))
    t.equal(recreated.statusCode, 201)
    t.not(recreated.json().connection.id, first.id)
    t.equal((await readAccessToken(app, ref)).json().access_token, 'gho_3')

    // The data key was rotated (by an operator, on another replica): the push is sealed under the new key.
    await rotateDataKey(database.operator, provider, tenant)
    const rotated = await push(app, ref, githubPush('gho_4'))
    t.equal(rotated.json().result, 'updated')
    t.equal(rotated.json().connection.key_version, 2)
    t.equal((await stored(tenant, 'alice'))!.key_version, 2)
    t.equal((await readAccessToken(app, ref)).json().access_token, 'gho_4')

    const events = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = ${tenant} AND action = 'token_set.push'`.execute(database.admin)
    t.equal(events.rows[0]!.n, 5, 'one event per push, whichever path stored it')
  },
)

t.test('a remembered data key whose root key was rotated and retired costs a detour, not a failed push', async (t) => {
  const [root1, root2] = [randomRootKey('root-1'), randomRootKey('root-2')]
  const local = createLocalKeyProvider([root1, root2], 'root-1')
  const retired = new Set<string>()
  const retiring: KeyProvider = {
    ...local,
    name: local.name,
    activeRootKeyId: local.activeRootKeyId,
    knownRootKeyIds: local.knownRootKeyIds,
    decryptDataKey: async (wrapped, rootKeyId, context) => {
      if (retired.has(rootKeyId)) throw new Error(`root key ${rootKeyId} is retired`)
      return local.decryptDataKey(wrapped, rootKeyId, context)
    },
  }
  const replica = await buildTestApp(t, database, { provider: retiring })
  const tenant = uniqueTenant('retired-root')
  const ref = { tenant, user: 'alice' }
  t.equal((await push(replica.app, ref, githubPush('gho_1'))).statusCode, 201)
  t.equal((await push(replica.app, ref, githubPush('gho_2'))).statusCode, 200, 'remembered from here on')

  // An operator re-wraps every data key under root-2 and retires root-1; the replica's cache has expired.
  // (By hand for this tenant alone: keys rotate-root would walk every tenant of this shared database.)
  const stored = await sql<{ version: number; wrapped_key: Uint8Array }>`
    SELECT version, wrapped_key FROM data_keys WHERE tenant_id = ${tenant}`.execute(database.admin)
  for (const row of stored.rows) {
    const rewrapped = await local.reEncryptDataKey(row.wrapped_key, 'root-1', 'root-2', { tenantId: tenant, version: row.version })
    await sql`UPDATE data_keys SET wrapped_key = ${rewrapped}, root_key_id = 'root-2'
      WHERE tenant_id = ${tenant} AND version = ${row.version}`.execute(database.admin)
  }
  retired.add('root-1')
  replica.keyRing.clear()
  const res = await push(replica.app, ref, githubPush('gho_3'))
  t.equal(res.statusCode, 200)
  t.equal(res.json().result, 'updated')
  t.equal((await readAccessToken(replica.app, ref)).json().access_token, 'gho_3')
})

t.test(
  'writes: a row another transaction holds is skipped at once, not waited for',
  { skip: TEST_DATABASE_URL === undefined ? 'needs a second connection holding the row lock: a PostgreSQL server; CI runs it' : false },
  async (t) => {
    const tenant = uniqueTenant('locked')
    const alice = await seed(tenant, 'alice', new Date(Date.now() - 60_000))
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    let locked!: () => void
    const lockTaken = new Promise<void>((resolve) => (locked = resolve))
    // Another transaction holds alice's row (as the administrator, which needs no tenant setting to see it).
    const holder = database.admin.transaction().execute(async (trx) => {
      await sql`SELECT id FROM token_sets WHERE tenant_id = ${tenant} AND id = ${alice.id} FOR UPDATE`.execute(trx)
      locked()
      await held
    })
    await lockTaken
    const bobId = randomUUID()
    const results = await writeBatch([
      { key: key(tenant, 'alice'), id: alice.id, isNew: false, write: write(new Date(), 'alice-new') },
      { key: key(tenant, 'bob'), id: bobId, isNew: true, write: write(new Date(), 'bob') },
    ])
    release()
    await holder
    t.equal(results[0], undefined, 'the locked row: the transactional path will wait for it')
    t.equal(results[1]?.outcome, 'created', 'the rest of the batch is written')
    t.same(Buffer.from((await stored(tenant, 'alice'))!.access_token_sealed), Buffer.from(alice.access_token_sealed))
  },
)

t.test('a batch of writes that fails: a broken lock cycle retries each push alone; anything else fails and stores nothing', async (t) => {
  const [deadlocked, broken] = [uniqueTenant('deadlock'), uniqueTenant('broken')]
  for (const tenant of [deadlocked, broken]) {
    for (const user of ['alice', 'bob']) t.equal((await push(app, { tenant, user }, githubPush(`gho_${user}_1`))).statusCode, 201)
  }
  // Only the batched statement fails (current_query() is the statement the client sent); the
  // transactional path, which updates with a plain UPDATE, is left alone.
  await sql`
    CREATE FUNCTION test_fail_batched_write() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF current_query() LIKE '%vault_write_pushed_token_sets%' THEN
        IF NEW.tenant_id = ${sql.lit(deadlocked)} THEN RAISE EXCEPTION 'lock cycle' USING ERRCODE = 'deadlock_detected'; END IF;
        IF NEW.tenant_id = ${sql.lit(broken)} THEN RAISE EXCEPTION 'broken' USING ERRCODE = 'data_exception'; END IF;
      END IF;
      RETURN NEW;
    END $$`.execute(database.admin)
  await sql`CREATE TRIGGER test_fail_batched_write BEFORE UPDATE ON token_sets FOR EACH ROW EXECUTE FUNCTION test_fail_batched_write()`.execute(
    database.admin,
  )
  t.teardown(async () => {
    await sql`DROP TRIGGER test_fail_batched_write ON token_sets`.execute(database.admin)
    await sql`DROP FUNCTION test_fail_batched_write()`.execute(database.admin)
  })

  const retried = await Promise.all(['alice', 'bob'].map((user) => push(app, { tenant: deadlocked, user }, githubPush(`gho_${user}_2`))))
  t.same(
    retried.map((res) => [res.statusCode, res.json().result]),
    [
      [200, 'updated'],
      [200, 'updated'],
    ],
  )
  for (const user of ['alice', 'bob'])
    t.equal((await readAccessToken(app, { tenant: deadlocked, user })).json().access_token, `gho_${user}_2`)

  const before = await stored(broken, 'alice')
  const failed = await push(app, { tenant: broken, user: 'alice' }, githubPush('gho_alice_2'))
  t.equal(failed.statusCode, 500)
  t.equal(failed.json().code, 'internal')
  t.same(await stored(broken, 'alice'), before, 'nothing stored')
  t.equal((await readAccessToken(app, { tenant: broken, user: 'alice' })).json().access_token, 'gho_alice_1')
})
