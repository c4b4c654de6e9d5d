import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import * as functions from '../../src/db/vault-functions.ts'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { githubPush, push } from '../support/http.ts'
import { TEST_DATABASE_URL } from '../support/test-database.ts'

/**
 * The database functions as their wrapper calls them, as the service's login: many connections, tenants
 * and outcomes in one statement. They decide nothing: they read, compare-and-swap and record, and these
 * tests hold them to exactly that. The sealed bytes are opaque to them.
 */
const database = await openTestDatabase(t)
const { app } = await buildTestApp(t, database)

const connection = (tenant_id: string, user_id: string): functions.ConnectionRecord => ({
  tenant_id,
  user_id,
  connector_type: 'social',
  connector_id: 'github',
})

async function stored(tenantId: string, userId: string) {
  const result = await sql<{
    id: string
    write_id: string
    issued_at: Date
    key_version: number
    access_token_sealed: Uint8Array
    refresh_token_sealed: Uint8Array | null
    refresh_server: string | null
  }>`
    SELECT id, write_id, issued_at, key_version, access_token_sealed, refresh_token_sealed, refresh_server FROM token_sets
    WHERE tenant_id = ${tenantId} AND user_id = ${userId}`.execute(database.admin)
  return result.rows[0]
}

async function seed(tenant: string, user: string, issuedAt = new Date()) {
  const res = await push(
    app,
    { tenant, user },
    githubPush(`gho_${user}`, { issued_at: issuedAt.toISOString() }, { refresh_token: `ghr_${user}` }),
  )
  t.equal(res.statusCode, 201)
  return (await stored(tenant, user))!
}

let counter = 0
/** A write of opaque bytes based on `basis` (the row as seen, or none), recorded under a fresh request id. */
function writeOf(
  tenant: string,
  user: string,
  basis: { id: string; write_id: string; key_version: number } | undefined,
  marker: string,
  overrides: Partial<functions.TokenSetRowWrite> = {},
): functions.TokenSetWriteRecord {
  counter += 1
  return {
    ...connection(tenant, user),
    id: basis?.id ?? randomUUID(),
    expected_write_id: basis?.write_id ?? null,
    expected_key_version: basis?.key_version ?? null,
    action: 'token_set.push',
    client_id: 'identity-core',
    request_id: `fn-${process.pid}-${counter}`,
    caller_request_id: null,
    write: true,
    target: 'github',
    issuer: null,
    provider_subject: null,
    token_type: 'Bearer',
    scope: 'repo',
    expires_at: null,
    issued_at: new Date(),
    key_version: 1,
    write_id: randomUUID(),
    access_token_sealed: Buffer.from(marker),
    keep_refresh_token: false,
    refresh_token_sealed: null,
    refresh_server: null,
    refresh_token_expires_at: null,
    id_token_sealed: null,
    settings_server_expected: false,
    settings_server: null,
    ...overrides,
  }
}

async function eventsOf(requestIds: readonly string[]) {
  const result = await sql<{
    request_id: string
    tenant_id: string
    user_id: string
    action: string
    outcome: string
    key_version: number
  }>`
    SELECT request_id, tenant_id, user_id, action, outcome, key_version FROM audit_events
    WHERE request_id = ANY(${[...requestIds]}::text[]) ORDER BY id`.execute(database.admin)
  return result.rows
}

t.test("reads: each position gets its own tenant's row and verdict; only a read served as stored is recorded", async (t) => {
  const [a, b] = [uniqueTenant('read-a'), uniqueTenant('read-b')]
  const alice = await seed(a, 'alice')
  const bob = await seed(b, 'bob')
  for (const user of ['carol', 'dave', 'erin']) await seed(a, user)
  // carol's token expires in ten minutes; dave's grant is gone; erin's token expired.
  await sql`UPDATE token_sets SET expires_at = now() + interval '10 minutes' WHERE tenant_id = ${a} AND user_id = 'carol'`.execute(
    database.admin,
  )
  await sql`UPDATE token_sets SET state = 'reauth_required' WHERE tenant_id = ${a} AND user_id = 'dave'`.execute(database.admin)
  await sql`UPDATE token_sets SET expires_at = now() - interval '1 minute' WHERE tenant_id = ${a} AND user_id = 'erin'`.execute(
    database.admin,
  )
  const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000)
  counter += 1
  const read = (tenant: string, user: string, scopes: string | null, at: Date, margin: number | null, i: number) => ({
    ...connection(tenant, user),
    required_scopes: scopes,
    at,
    refresh_margin_ms: margin,
    client_id: 'account-api',
    request_id: `read-${process.pid}-${counter}-${i}`,
    caller_request_id: null,
  })
  const reads = [
    read(b, 'bob', null, inMinutes(0), 60_000, 0),
    read(a, 'nobody', null, inMinutes(0), 60_000, 1),
    read(a, 'alice', 'repo', inMinutes(0), 60_000, 2),
    read(a, 'alice', 'repo admin:org read:user gist', inMinutes(0), 60_000, 3),
    read(a, 'bob', null, inMinutes(0), 60_000, 4),
    read(a, 'carol', null, inMinutes(0), 60_000, 5),
    read(a, 'carol', null, inMinutes(9.5), 60_000, 6),
    read(a, 'carol', null, inMinutes(9.5), null, 7),
    read(a, 'dave', null, inMinutes(0), 60_000, 8),
    read(a, 'erin', null, inMinutes(0), null, 9),
  ]
  const rows = await functions.readTokenSets(database.db, reads, 'token_set.read')
  t.equal(rows.length, reads.length)
  t.equal(rows[0]?.id, bob.id)
  t.same(Buffer.from(rows[0]!.access_token_sealed), Buffer.from(bob.access_token_sealed))
  t.equal(rows[0]?.write_id, bob.write_id)
  t.equal(rows[0]?.has_refresh_token, true)
  t.equal(rows[2]?.id, alice.id)
  t.same(
    rows.map((row) => row && [row.verdict, row.missing_scopes]),
    [
      ['serve', null],
      undefined,
      ['serve', null],
      ['insufficient_scope', [2, 4]],
      undefined, // another tenant's user is not found
      ['serve', null],
      ['refresh', null],
      ['serve', null], // due, but the caller cannot refresh: still valid, served
      ['reconnect', null],
      ['reconnect', null],
    ],
  )
  t.same(
    (await eventsOf(reads.map((r) => r.request_id))).map((e) => [e.request_id, e.tenant_id, e.user_id, e.action, e.outcome]).sort(),
    [0, 2, 5, 7].map((i) => [reads[i]!.request_id, reads[i]!.tenant_id, reads[i]!.user_id, 'token_set.read', 'success']).sort(),
    'exactly the reads served as stored, each under its own tenant',
  )
})

t.test('push bases: the active key per tenant, the settings server, and what is stored per connection', async (t) => {
  const tenant = uniqueTenant('basis')
  const alice = await seed(tenant, 'alice')
  const bases = await functions.findPushBases(database.db, [
    connection(tenant, 'new-user'),
    connection(tenant, 'alice'),
    connection(uniqueTenant('no-key'), 'alice'),
  ])
  t.equal(bases[0]?.active_version, 1)
  t.equal(bases[0]?.stored_id, null)
  t.equal(bases[1]?.stored_id, alice.id)
  t.equal(bases[1]?.stored_write_id, alice.write_id)
  t.equal(bases[1]?.stored_key_version, 1)
  t.same(bases[1]?.stored_issued_at, alice.issued_at)
  t.same(Buffer.from(bases[1]!.stored_refresh_token_sealed!), Buffer.from(alice.refresh_token_sealed!))
  t.equal(bases[1]?.settings_server, null, 'no refresh settings for this connector')
  t.equal(bases[2], undefined, 'a tenant without a data key has no basis')
})

t.test('writes: every outcome in one batch, across tenants, each as if alone, each recorded with its write', async (t) => {
  const [tenant, other] = [uniqueTenant('write'), uniqueTenant('write-other')]
  const alice = await seed(tenant, 'alice')
  const carol = await seed(tenant, 'carol')
  await seed(other, 'zed')
  const records = [
    writeOf(tenant, 'bob', undefined, 'bob'),
    writeOf(tenant, 'alice', alice, 'alice-new', { keep_refresh_token: true }),
    { ...writeOf(tenant, 'carol', carol, 'unused'), write: false as const },
    writeOf(tenant, 'dave', undefined, 'dave-1'),
    writeOf(tenant, 'dave', undefined, 'dave-2'),
    writeOf(tenant, 'alice', { ...alice, write_id: randomUUID() }, 'alice-unseen'),
    writeOf(other, 'frank', undefined, 'frank'),
  ]
  const results = await functions.writeTokenSets(database.db, records, { waitForLocks: false })
  t.same(
    results.map((result) => [result.status, result.row?.id, result.row?.tenant_id]),
    [
      ['created', records[0]!.id, tenant],
      ['updated', alice.id, tenant],
      ['ignored_stale', carol.id, tenant],
      ['created', records[3]!.id, tenant],
      ['changed', undefined, undefined], // the same new connection twice: the second saw no row, and there is one now
      ['changed', undefined, undefined], // a basis that is not the stored row
      ['created', records[6]!.id, other],
    ],
  )
  const aliceNow = (await stored(tenant, 'alice'))!
  t.same(Buffer.from(aliceNow.access_token_sealed), Buffer.from('alice-new'))
  t.same(Buffer.from(aliceNow.refresh_token_sealed!), Buffer.from(alice.refresh_token_sealed!), 'keep_refresh_token kept it')
  t.equal(results[1]?.row?.has_refresh_token, true)
  t.same(await stored(tenant, 'carol'), carol, 'an event-only element writes nothing')
  t.same(Buffer.from((await stored(tenant, 'dave'))!.access_token_sealed), Buffer.from('dave-1'))
  const byRequest = (x: unknown[], y: unknown[]) => String(x[0]).localeCompare(String(y[0]))
  t.same(
    (await eventsOf(records.map((r) => r.request_id)))
      .map((e) => [e.request_id, e.tenant_id, e.user_id, e.action, e.outcome, e.key_version])
      .sort(byRequest),
    [0, 1, 2, 3, 6]
      .map((i) => [records[i]!.request_id, records[i]!.tenant_id, records[i]!.user_id, 'token_set.push', 'success', 1])
      .sort(byRequest),
    'one event per element that got an outcome, under its own tenant; none for the others',
  )
})

t.test('writes: a connection named twice in one call is written in call order, the second seeing the first', async (t) => {
  const tenant = uniqueTenant('twice')
  const carol = await seed(tenant, 'carol')
  const erin = await seed(tenant, 'erin')
  const records = [
    writeOf(tenant, 'erin', erin, 'erin-first'),
    { ...writeOf(tenant, 'carol', carol, 'unused'), write: false as const },
    writeOf(tenant, 'erin', erin, 'erin-second'),
    writeOf(tenant, 'carol', carol, 'carol-new'),
  ]
  const results = await functions.writeTokenSets(database.db, records, { waitForLocks: false })
  t.same(
    results.map((result) => result.status),
    ['updated', 'ignored_stale', 'changed', 'updated'],
    'the second write of erin saw a row the first had replaced; carol was unchanged by its event-only record',
  )
  t.same(Buffer.from((await stored(tenant, 'erin'))!.access_token_sealed), Buffer.from('erin-first'))
  t.same(Buffer.from((await stored(tenant, 'carol'))!.access_token_sealed), Buffer.from('carol-new'))
  t.same(
    (await eventsOf(records.map((r) => r.request_id))).map((e) => e.request_id).sort(),
    [0, 1, 3].map((i) => records[i]!.request_id).sort(),
    'an event for each record that got an outcome',
  )
})

t.test('writes: what the caller saw must still hold, or nothing is written or recorded', async (t) => {
  const [tenant, other] = [uniqueTenant('cas'), uniqueTenant('cas-other')]
  const alice = await seed(tenant, 'alice', new Date(Date.now() - 60_000))
  await seed(tenant, 'bob')
  await seed(other, 'zed')
  const records = [
    // Another tenant naming alice's row: under its own tenant setting the row does not exist.
    writeOf(other, 'alice', alice, 'cross-tenant'),
    // bob's push carrying alice's row id and write id: alice's token must not become bob's.
    writeOf(tenant, 'bob', alice, 'bob-into-alice'),
    // The row as seen, but sealed under a version that is not the tenant's active one.
    writeOf(tenant, 'alice', alice, 'alice-v2', { key_version: 2 }),
    // The row as seen, under another key version than it has.
    writeOf(tenant, 'alice', { ...alice, key_version: 2 }, 'alice-other-version'),
    // A new refresh token bound to what the settings named, but they name something else now (none).
    writeOf(tenant, 'alice', alice, 'alice-moved', {
      refresh_token_sealed: Buffer.from('ghr'),
      refresh_server: 'https://github.com/login/oauth/access_token',
      settings_server_expected: true,
      settings_server: 'https://github.com/login/oauth/access_token',
    }),
  ]
  const results = await functions.writeTokenSets(database.db, records, { waitForLocks: false })
  t.same(
    results.map((result) => result.status),
    ['changed', 'changed', 'changed', 'changed', 'changed'],
  )
  t.same(await stored(tenant, 'alice'), alice, 'nothing written')
  t.same(await eventsOf(records.map((r) => r.request_id)), [], 'and nothing recorded')

  // The same write while the settings still name no server goes through, and replaces the refresh token.
  const [written] = await functions.writeTokenSets(
    database.db,
    [
      writeOf(tenant, 'alice', alice, 'alice-new', {
        refresh_token_sealed: Buffer.from('ghr-new'),
        refresh_server: null,
        settings_server_expected: true,
        settings_server: null,
      }),
    ],
    { waitForLocks: false },
  )
  t.equal(written?.status, 'updated')
  t.same(Buffer.from((await stored(tenant, 'alice'))!.refresh_token_sealed!), Buffer.from('ghr-new'))
})

t.test(
  'writes: a row another transaction holds answers locked at once, or is waited for when asked',
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
    const records = [writeOf(tenant, 'alice', alice, 'alice-new'), writeOf(tenant, 'bob', undefined, 'bob')]
    const results = await functions.writeTokenSets(database.db, records, { waitForLocks: false })
    t.same(
      results.map((r) => r.status),
      ['locked', 'created'],
      'the rest of the batch is written',
    )
    t.same(await stored(tenant, 'alice'), alice)

    const waiting = functions.writeTokenSets(database.db, [records[0]!], { waitForLocks: true })
    await new Promise((resolve) => setTimeout(resolve, 200))
    release()
    await holder
    t.equal((await waiting)[0]?.status, 'updated', 'written once the lock was released')
    t.same(Buffer.from((await stored(tenant, 'alice'))!.access_token_sealed), Buffer.from('alice-new'))
  },
)

t.test('audit events: many tenants in one statement, in order, each under its own tenant', async (t) => {
  const [a, b] = [uniqueTenant('audit-a'), uniqueTenant('audit-b')]
  const event = (tenant_id: string, request_id: string): functions.AuditEventRecord => ({
    tenant_id,
    client_id: 'account-api',
    action: 'token_set.read',
    outcome: 'success',
    error_code: null,
    user_id: 'alice',
    connector_type: 'social',
    connector_id: 'github',
    request_id,
    caller_request_id: 'caller-1',
    key_version: 3,
  })
  const ids = [1, 2, 3].map((i) => `audit-${process.pid}-${i}`)
  await functions.insertAuditEvents(database.db, [event(a, ids[0]!), event(b, ids[1]!), event(a, ids[2]!)])
  const rows = await eventsOf(ids)
  t.same(
    rows.filter((e) => e.tenant_id === a).map((e) => [e.request_id, e.key_version]),
    [
      [ids[0], 3],
      [ids[2], 3],
    ],
  )
  t.same(
    rows.filter((e) => e.tenant_id === b).map((e) => [e.request_id, e.key_version]),
    [[ids[1], 3]],
  )
})
