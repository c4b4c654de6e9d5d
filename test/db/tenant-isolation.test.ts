import { sql } from 'kysely'
import t from 'tap'
import { inTenantTransaction } from '../../src/db/tenant-scope.ts'
import { insertAuditEvents, readTokenSets } from '../../src/db/vault-functions.ts'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, githubPush, push } from '../support/http.ts'

/** What the database itself enforces for the service role, whatever the application code does. */
const database = await openTestDatabase(t)
const { app } = await buildTestApp(t, database)
const tenantA = uniqueTenant('a')
const tenantB = uniqueTenant('b')
await push(app, { tenant: tenantA }, githubPush('gho_a'))
await push(app, { tenant: tenantB }, githubPush('gho_b'))
for (const tenant of [tenantA, tenantB]) {
  await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
    payload: {
      token_endpoint: 'https://github.com/login/oauth/access_token',
      revocation_endpoint: 'https://github.com/login/oauth/revoke',
      client_id: 'Iv1.abc',
      client_secret: `secret-${tenant}`,
    },
  })
  // A webhook endpoint, and an unlinked connection: an event, its delivery and a queued revocation.
  await app.inject({ method: 'POST', url: `/v1/tenants/${tenant}/webhooks`, payload: { url: 'https://hooks.example.com/isolation' } })
  await push(app, { tenant, user: 'bob' }, githubPush('gho_bob', {}, { refresh_token: 'ghr_bob' }))
  await app.inject({ method: 'DELETE', url: connectionPath({ tenant, user: 'bob' }) })
  // A user secret, an MFA factor, a used backup code and a failed attempt for each tenant: a row in every tenant table.
  const userUrl = `/v1/tenants/${tenant}/users/alice`
  await app.inject({ method: 'PUT', url: `${userUrl}/secrets/api`, payload: { kind: 'api_key', value: `key-${tenant}` } })
  const generated = await app.inject({ method: 'POST', url: `${userUrl}/mfa/backup-codes/generate` })
  await app.inject({ method: 'POST', url: `${userUrl}/mfa/backup-codes/bind`, payload: { factor_id: generated.json().factor.id } })
  await app.inject({ method: 'POST', url: `${userUrl}/mfa/backup-codes/consume`, payload: { code: generated.json().codes[0] } })
  await app.inject({ method: 'POST', url: `${userUrl}/mfa/backup-codes/consume`, payload: { code: generated.json().codes[0] } })
}
// A digest sealing each tenant's events.
await app.server.auditSealer.sealNow()
const TENANT_TABLES = [
  'audit_digests',
  'audit_events',
  'connector_refresh_settings',
  'data_keys',
  'events',
  'mfa_attempts',
  'mfa_factors',
  'mfa_used_codes',
  'token_revocations',
  'token_sets',
  'user_secrets',
  'webhook_deliveries',
  'webhook_endpoints',
] as const

const asService = <T>(tenant: string, work: Parameters<typeof inTenantTransaction<T>>[2]) => inTenantTransaction(database.db, tenant, work)

t.test('the service role is neither owner nor superuser', async (t) => {
  const role = await asService(tenantA, (trx) =>
    sql<{ current_user: string; rolsuper: boolean; rolbypassrls: boolean }>`
      SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`.execute(trx),
  )
  t.same(role.rows, [{ current_user: 'secret_vault_app', rolsuper: false, rolbypassrls: false }])
  const owners = await sql<{
    tableowner: string
  }>`SELECT DISTINCT tableowner FROM pg_tables WHERE tablename IN ('tenants', 'data_keys', 'token_sets', 'connector_refresh_settings')`.execute(
    database.admin,
  )
  t.notOk(owners.rows.some((row) => row.tableowner === 'secret_vault_app'))
})

t.test('row-level security is enabled and forced on every table', async (t) => {
  const tables = await sql<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>`
    SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
    WHERE relkind IN ('r', 'p') AND NOT relispartition AND relnamespace = 'public'::regnamespace AND relname NOT LIKE 'kysely_%'
    ORDER BY relname`.execute(database.admin)
  t.same(
    tables.rows.map((row) => row.relname),
    [...TENANT_TABLES, 'tenants'].sort(),
  )
  t.ok(tables.rows.every((row) => row.relrowsecurity && row.relforcerowsecurity))
})

t.test("the audit trail's partitions are reached only through audit_events and its policies", async (t) => {
  const partitions = await sql<{ name: string; app: boolean; operator: boolean }>`
    SELECT c.relname AS name,
      has_table_privilege('secret_vault_app', c.oid, 'SELECT,INSERT,UPDATE,DELETE') AS app,
      has_table_privilege('secret_vault_operator', c.oid, 'SELECT,INSERT,UPDATE,DELETE') AS operator
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_events'::regclass ORDER BY 1`.execute(
    database.admin,
  )
  t.ok(partitions.rows.length >= 4, 'the default partition and this month and those ahead')
  t.ok(partitions.rows.some((row) => row.name === 'audit_events_default'))
  for (const row of partitions.rows) t.same([row.app, row.operator], [false, false], `${row.name}: no privilege of its own`)
  await t.rejects(
    asService(tenantA, (trx) => sql`SELECT count(*) FROM audit_events_default`.execute(trx)),
    /permission denied/,
  )
})

t.test("every table's key starts with the tenant, and every reference stays inside its tenant", async (t) => {
  const keys = await sql<{
    table: string
    kind: string
    columns: string[]
    referenced: string | null
    referenced_columns: string[] | null
  }>`
    SELECT c.conrelid::regclass::text AS table, c.contype AS kind,
      array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
      c.confrelid::regclass::text AS referenced,
      array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS referenced_columns
    FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
    WHERE r.relnamespace = 'public'::regnamespace AND NOT r.relispartition AND r.relname NOT LIKE 'kysely_%' AND c.contype IN ('p', 'f')`.execute(
    database.admin,
  )
  const primary = keys.rows.filter((key) => key.kind === 'p')
  t.same(primary.map((key) => key.table).sort(), [...TENANT_TABLES, 'tenants'].sort(), 'every table has a primary key')
  for (const key of primary) t.equal(key.columns[0], 'tenant_id', `${key.table}'s primary key starts with tenant_id`)
  for (const key of keys.rows.filter((key) => key.kind === 'f')) {
    t.same(
      [key.columns[0], key.referenced_columns?.[0]],
      ['tenant_id', 'tenant_id'],
      `${key.table} -> ${key.referenced} (${key.columns.join(', ')}) matches tenant to tenant first`,
    )
  }
})

t.test("another tenant's rows are invisible, even without a WHERE clause", async (t) => {
  for (const table of TENANT_TABLES) {
    const seen = await asService(tenantA, (trx) =>
      sql<{ tenant_id: string }>`SELECT DISTINCT tenant_id FROM ${sql.table(table)}`.execute(trx),
    )
    t.same(
      seen.rows.map((row) => row.tenant_id),
      [tenantA],
      `${table}: tenant A's own rows and nothing else`,
    )
  }
})

t.test("the tenants' ids are the one thing the service sees across tenants (the keep-alive sweep walks them)", async (t) => {
  const columns = await sql<{ column_name: string }>`
    SELECT column_name FROM information_schema.columns WHERE table_name = 'tenants' ORDER BY ordinal_position`.execute(database.admin)
  t.same(
    columns.rows.map((row) => row.column_name),
    ['tenant_id', 'created_at'],
    'an id and a creation time, nothing else',
  )
  const seen = await asService(tenantA, (trx) => sql<{ tenant_id: string }>`SELECT tenant_id FROM tenants`.execute(trx))
  t.ok(
    seen.rows.some((row) => row.tenant_id === tenantB),
    "tenant B's id is listed",
  )
  const unset = await database.db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('role', 'secret_vault_app', true)`.execute(trx)
    return sql<{ tenant_id: string }>`SELECT tenant_id FROM tenants`.execute(trx)
  })
  t.ok(unset.rows.length >= 2, 'listed without a tenant setting too')
  await t.rejects(
    asService(tenantA, (trx) => sql`DELETE FROM tenants WHERE tenant_id = ${tenantB}`.execute(trx)),
    /permission denied/,
    'listed, never deleted',
  )
})

t.test('without a tenant setting no row is visible', async (t) => {
  const rows = await database.db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('role', 'secret_vault_app', true)`.execute(trx)
    return sql`SELECT * FROM token_sets`.execute(trx)
  })
  t.equal(rows.rows.length, 0)
})

t.test("updates and deletes cannot reach another tenant's rows", async (t) => {
  const updated = await asService(tenantA, (trx) => sql`UPDATE token_sets SET scope = 'pwned' WHERE tenant_id = ${tenantB}`.execute(trx))
  t.equal(Number(updated.numAffectedRows), 0)
  const deleted = await asService(tenantA, (trx) => sql`DELETE FROM token_sets WHERE tenant_id = ${tenantB}`.execute(trx))
  t.equal(Number(deleted.numAffectedRows), 0)
  const intact = await sql<{ scope: string }>`SELECT scope FROM token_sets WHERE tenant_id = ${tenantB}`.execute(database.admin)
  t.not(intact.rows[0]!.scope, 'pwned')
})

t.test('writing a row into another tenant is refused', async (t) => {
  await t.rejects(
    asService(tenantA, (trx) => sql`UPDATE token_sets SET tenant_id = ${tenantB} WHERE tenant_id = ${tenantA}`.execute(trx)),
    /row-level security|violates/,
  )
  await t.rejects(
    asService(tenantA, (trx) => sql`INSERT INTO tenants (tenant_id) VALUES (${`${tenantB}-x`})`.execute(trx)),
    /row-level security/,
  )
})

t.test("a token set referencing another tenant's data key is refused by the database", async (t) => {
  const foreignVersion = await sql<{ version: number }>`SELECT version FROM data_keys WHERE tenant_id = ${tenantB}`.execute(database.admin)
  const row = (tenant: string, version: number) => sql`
    INSERT INTO token_sets (tenant_id, id, user_id, connector_type, connector_id, token_type, scope, issued_at, state, key_version, write_id, access_token_sealed)
    VALUES (${tenant}, gen_random_uuid(), 'eve', 'social', 'github', 'Bearer', '', now(), 'active', ${version}, gen_random_uuid(), '\\x00'::bytea)`
  // As tenant B's row: RLS refuses the tenant.
  await t.rejects(
    asService(tenantA, (trx) => row(tenantB, foreignVersion.rows[0]!.version).execute(trx)),
    /row-level security/,
  )
  // As tenant A's row pointing at a version only B has: the composite foreign key refuses it, even for the owner.
  await t.rejects(row(tenantA, 99).execute(database.admin), /foreign key/)
})

t.test('the service role cannot delete or alter data keys', async (t) => {
  await t.rejects(
    asService(tenantA, (trx) => sql`DELETE FROM data_keys`.execute(trx)),
    /permission denied/,
  )
  await t.rejects(
    asService(tenantA, (trx) => sql`UPDATE data_keys SET state = 'decrypt_only'`.execute(trx)),
    /permission denied/,
  )
})

t.test('the service role may append to the audit trail but never update or delete it', async (t) => {
  const before = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = ${tenantA}`.execute(database.admin)
  t.ok(before.rows[0]!.n > 0, 'the pushes above were audited')
  await t.rejects(
    asService(tenantA, (trx) => sql`UPDATE audit_events SET outcome = 'success'`.execute(trx)),
    /permission denied/,
  )
  await t.rejects(
    asService(tenantA, (trx) => sql`DELETE FROM audit_events`.execute(trx)),
    /permission denied/,
  )
  await t.rejects(
    asService(tenantA, (trx) => sql`TRUNCATE audit_events`.execute(trx)),
    /permission denied/,
  )
  const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = ${tenantA}`.execute(database.admin)
  t.equal(after.rows[0]!.n, before.rows[0]!.n)
})

t.test('a data key that protects a token set cannot be deleted, even by the owner', async (t) => {
  await t.rejects(sql`DELETE FROM data_keys WHERE tenant_id = ${tenantA}`.execute(database.admin), /foreign key/)
})

t.test('the batched functions work as the service role, each element confined to its own tenant', async (t) => {
  const ids = await sql<{
    tenant_id: string
    id: string
  }>`SELECT tenant_id, id FROM token_sets WHERE tenant_id IN (${tenantA}, ${tenantB})`.execute(database.admin)
  const idOf = (tenant: string) => ids.rows.find((row) => row.tenant_id === tenant)!.id
  const connection = (tenant_id: string, user_id: string) => ({
    tenant_id,
    user_id,
    connector_type: 'social' as const,
    connector_id: 'github',
    required_scopes: null,
    at: new Date(),
    refresh_margin_ms: null,
    client_id: 'c',
    request_id: 'isolation-read',
    caller_request_id: null,
  })
  const after = await database.db.transaction().execute(async (trx) => {
    const read = (
      await readTokenSets(trx, [connection(tenantA, 'alice'), connection(tenantB, 'alice'), connection(tenantA, 'bob')], 'token_set.read')
    ).map((row, position) => row && { n: position + 1, id: row.id })
    const who = await sql<{
      current_user: string
      tenant: string
    }>`SELECT current_user, current_setting('vault.tenant_id') AS tenant`.execute(trx)
    // With the role and the last tenant of the call, every other tenant's rows stay invisible to the rest of the transaction.
    const visible = await sql<{ tenant_id: string }>`SELECT DISTINCT tenant_id FROM token_sets`.execute(trx)
    return { read: read.filter((row) => row !== undefined), ...who.rows[0]!, visible: visible.rows.map((row) => row.tenant_id) }
  })
  t.same(
    after.read,
    [
      { n: 1, id: idOf(tenantA) },
      { n: 2, id: idOf(tenantB) },
    ],
    "each element finds its own tenant's row; an unknown one finds none",
  )
  t.equal(after.current_user, 'secret_vault_app')
  t.same(after.visible, [after.tenant])

  const requestId = `isolation-${Date.now()}`
  const event = (tenant_id: string) => ({
    tenant_id,
    client_id: 'c',
    action: 'token_set.read',
    outcome: 'success' as const,
    error_code: null,
    user_id: 'alice',
    connector_type: 'social',
    connector_id: 'github',
    request_id: requestId,
    caller_request_id: null,
    key_version: 1,
  })
  await insertAuditEvents(database.db, [event(tenantA), event(tenantB)])
  const written = await sql<{
    tenant_id: string
  }>`SELECT tenant_id FROM audit_events WHERE request_id = ${requestId} ORDER BY tenant_id`.execute(database.admin)
  t.same(
    written.rows.map((row) => row.tenant_id),
    [tenantA, tenantB].sort(),
    'each event under its own tenant',
  )
})
