import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import { sql } from 'kysely'
import pino from 'pino'
import t from 'tap'
import { createAuditSealer } from '../../src/audit/audit-digests.ts'
import { inTenantTransaction } from '../../src/db/tenant-scope.ts'
import { insertAuditEvents } from '../../src/db/vault-functions.ts'
import type { DataKeyRing } from '../../src/keys/data-key-ring.ts'
import { createCliEnvironment } from '../support/cli-environment.ts'
import type { TestDatabase } from '../support/test-database.ts'

/**
 * Tamper evidence as an auditor meets it: `secret-vault audit verify` (the CLI as a process, as the
 * operator login) over a trail the service wrote and sealed, then edited, deleted, reordered, inserted
 * into and forged in SQL by someone with the database's own powers. Each is reported by its id, and a
 * retention drop is not.
 */
const cli = await createCliEnvironment(t)

const event = (tenantId: string, n: number) => ({
  tenant_id: tenantId,
  client_id: 'account-api',
  action: 'token_set.read',
  outcome: 'success' as const,
  error_code: null,
  user_id: `user-${n}`,
  connector_type: 'social',
  connector_id: 'github',
  request_id: randomUUID(),
  caller_request_id: n % 3 === 0 ? `caller-${n}` : null,
  key_version: 1,
})

async function seal(db: TestDatabase, keyRing: DataKeyRing): Promise<number> {
  const sealer = createAuditSealer({
    db: db.db,
    keyRing,
    now: () => new Date(),
    logger: pino({ level: 'silent' }),
    options: { intervalMs: 0, batch: 1000, settleMs: 20 },
  })
  return sealer.sealNow()
}

/**
 * A tenant with a data key and `count` events, then one event of a tenant without one, sealed: the events'
 * ids in order, and the other tenant's event id (inside the sealed range, and free for this tenant).
 */
async function sealedTrail(tenantId: string, count: number): Promise<{ ids: string[]; free: string }> {
  return cli.withDatabase(async (db, _tokenSets, _settings, keyRing) => {
    await inTenantTransaction(db.db, tenantId, (trx) => keyRing.activeKey(trx, tenantId))
    for (let i = 0; i < count; i += 10) {
      await insertAuditEvents(
        db.db,
        Array.from({ length: Math.min(10, count - i) }, (_, j) => event(tenantId, i + j)),
      )
    }
    await insertAuditEvents(db.db, [event(`${tenantId}-other`, 0)])
    t.ok((await seal(db, keyRing)) >= 1, 'sealed')
    const ids = await sql<{ event: string }>`SELECT id::text AS event FROM audit_events WHERE tenant_id = ${tenantId} ORDER BY id`.execute(
      db.admin,
    )
    const free = await sql<{ event: string }>`SELECT id::text AS event FROM audit_events WHERE tenant_id = ${`${tenantId}-other`}`.execute(
      db.admin,
    )
    return { ids: ids.rows.map((row) => row.event), free: free.rows[0]!.event }
  })
}

async function verify(tenantId: string) {
  const run = await cli.run(['audit', 'verify', '--tenant', tenantId, '--format', 'json'])
  return { code: run.code, report: JSON.parse(run.stdout), stderr: run.stderr }
}

const asAdmin = (work: (db: TestDatabase) => Promise<unknown>) => cli.withDatabase((db) => work(db).then(() => undefined))

t.test('a trail the service wrote and sealed verifies, and says how much of it is sealed', async (t) => {
  const tenant = 'verify-clean'
  await sealedTrail(tenant, 25)
  await cli.withDatabase((db) => insertAuditEvents(db.db, [event(tenant, 100), event(tenant, 101)]))
  const { code, report, stderr } = await verify(tenant)
  t.equal(code, 0, stderr)
  t.match(report, { ok: true, problem: null, checked: 25, dropped_by_retention: 0, digests: 1, unsealed: 2 })
  t.type(report.last_sealed_at, 'string')
  t.ok(BigInt(report.sealed_through_id) > 0n)
})

t.test('an edited event is reported by its id', async (t) => {
  const tenant = 'verify-edit'
  const { ids } = await sealedTrail(tenant, 20)
  await asAdmin((db) => sql`UPDATE audit_events SET user_id = 'mallory' WHERE id = ${ids[7]}`.execute(db.admin))
  const { code, report } = await verify(tenant)
  t.equal(code, 1)
  t.match(report.problem, { kind: 'edited', id: ids[7], digest: 1 })
  t.match(report.description, `event ${ids[7]} was edited`)
  t.notMatch(report.description, 'mallory', 'positions, never content')
})

t.test('a deleted event is reported by its id, the last one sealed too', async (t) => {
  const tenant = 'verify-delete'
  const { ids } = await sealedTrail(tenant, 20)
  await asAdmin((db) => sql`DELETE FROM audit_events WHERE id = ${ids[11]}`.execute(db.admin))
  const { code, report } = await verify(tenant)
  t.equal(code, 1)
  t.match(report.problem, { kind: 'deleted', id: ids[11], digest: 1 })
  await asAdmin((db) => sql`DELETE FROM audit_events WHERE tenant_id = ${tenant} AND id >= ${ids[11]}`.execute(db.admin))
  t.match((await verify(tenant)).report.problem, { kind: 'deleted', id: ids[11] }, 'the sealed end cut off')
})

t.test('an event moved to another id is reported as reordered, naming both ids', async (t) => {
  const tenant = 'verify-reorder'
  const { ids, free } = await sealedTrail(tenant, 12)
  await asAdmin((db) =>
    db.admin.transaction().execute(async (trx) => {
      await sql`CREATE TEMP TABLE moved ON COMMIT DROP AS SELECT * FROM audit_events WHERE id = ${ids[3]}`.execute(trx)
      await sql`DELETE FROM audit_events WHERE id = ${ids[3]}`.execute(trx)
      await sql`UPDATE moved SET id = ${free}`.execute(trx)
      await sql`INSERT INTO audit_events OVERRIDING SYSTEM VALUE SELECT * FROM moved`.execute(trx)
    }),
  )
  const { code, report } = await verify(tenant)
  t.equal(code, 1)
  t.match(report.problem, { kind: 'reordered', id: ids[3], moved_to: free, digest: 1 })
})

t.test('an event inserted into a sealed range is reported as inserted', async (t) => {
  const tenant = 'verify-insert'
  const { free } = await sealedTrail(tenant, 5)
  await asAdmin((db) =>
    sql`INSERT INTO audit_events (tenant_id, id, action, outcome, request_id) OVERRIDING SYSTEM VALUE
      VALUES (${tenant}, ${free}, 'token_set.read', 'success', 'forged')`.execute(db.admin),
  )
  const { code, report } = await verify(tenant)
  t.equal(code, 1)
  t.match(report.problem, { kind: 'inserted', id: free, digest: 1 })
})

t.test('a digest made to agree with an edit is a forged digest', async (t) => {
  const tenant = 'verify-rewrite'
  const { ids } = await sealedTrail(tenant, 15)
  await asAdmin(async (db) => {
    await sql`UPDATE audit_events SET outcome = 'denied' WHERE id = ${ids[5]}`.execute(db.admin)
    // The entry's content hash overwritten, as someone who knows the format would: the seal no longer opens.
    await sql`UPDATE audit_digests SET entries = overlay(entries PLACING '\\x00112233445566778899aabbccddeeff'::bytea FROM ${5 * 32 + 17})
      WHERE tenant_id = ${tenant}`.execute(db.admin)
  })
  const { code, report } = await verify(tenant)
  t.equal(code, 1)
  t.match(report.problem, { kind: 'digest_forged', digest: 1 })
})

t.test('a digest edited or deleted in SQL is reported by its number', async (t) => {
  const tenant = 'verify-digest'
  await sealedTrail(tenant, 5)
  await cli.withDatabase(async (db, _tokenSets, _settings, keyRing) => {
    for (const n of [5, 6]) {
      await insertAuditEvents(db.db, [event(tenant, 10 * n)])
      await seal(db, keyRing)
    }
    const numbers = await sql<{ number: string }>`
      SELECT number::text FROM audit_digests WHERE tenant_id = ${tenant} ORDER BY number`.execute(db.admin)
    t.same(
      numbers.rows.map((row) => row.number),
      ['1', '2', '3'],
      'numbered one after another',
    )
  })
  t.equal((await verify(tenant)).code, 0)
  await asAdmin((db) =>
    sql`UPDATE audit_digests SET sealed_at = sealed_at + interval '1 second' WHERE tenant_id = ${tenant} AND number = 2`.execute(db.admin),
  )
  t.match((await verify(tenant)).report.problem, { kind: 'digest_forged', digest: 2 })
  await asAdmin((db) => sql`DELETE FROM audit_digests WHERE tenant_id = ${tenant} AND number = 2`.execute(db.admin))
  t.match((await verify(tenant)).report.problem, { kind: 'digest_missing', digest: 2 })
})

t.test('a tenant without a data key has nothing sealed, and verify says so', async (t) => {
  const tenant = 'verify-unsealed'
  await cli.withDatabase(async (db, _tokenSets, _settings, keyRing) => {
    await insertAuditEvents(db.db, [event(tenant, 1), event(tenant, 2), event(tenant, 3)])
    t.equal(await seal(db, keyRing), 0, 'no key to seal under')
  })
  const { code, report } = await verify(tenant)
  t.equal(code, 0)
  t.match(report, { ok: true, checked: 0, digests: 0, last_sealed_at: null, sealed_through_id: '0', unsealed: 3 })
})

t.test('the sealer and verify agree on every kind of field: empty, absent, long, any Unicode', async (t) => {
  const tenant = 'verify-fields'
  const text = fc.oneof(
    fc.constant(''),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }),
  )
  const nullable = fc.option(text, { nil: null })
  const events = fc.sample(
    fc.record({
      client_id: nullable,
      action: text,
      outcome: fc.constantFrom('success' as const, 'denied' as const, 'failed' as const),
      error_code: nullable,
      user_id: nullable,
      connector_type: nullable,
      connector_id: nullable,
      request_id: text,
      caller_request_id: nullable,
      key_version: fc.option(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { nil: null }),
    }),
    { numRuns: 150, seed: 2026 },
  )
  // PostgreSQL text holds no NUL; everything else goes in as it came.
  const clean = <T>(value: T): T => (typeof value === 'string' ? (value.replaceAll('\u0000', '') as T) : value)
  await cli.withDatabase(async (db, _tokenSets, _settings, keyRing) => {
    await inTenantTransaction(db.db, tenant, (trx) => keyRing.activeKey(trx, tenant))
    await insertAuditEvents(
      db.db,
      events.map((e) => ({ tenant_id: tenant, ...Object.fromEntries(Object.entries(e).map(([k, v]) => [k, clean(v)])) }) as never),
    )
    await seal(db, keyRing)
  })
  const { code, report } = await verify(tenant)
  t.equal(code, 0, JSON.stringify(report.problem))
  t.equal(report.checked, events.length)
})

t.test('retention: the months the command drops are no loss; a month dropped behind its back is', async (t) => {
  const kept = 'verify-retained'
  const robbed = 'verify-robbed'
  const monthsAgo = (n: number) => sql`now() - make_interval(months => ${n})`
  await cli.withDatabase(async (db, _tokenSets, _settings, keyRing) => {
    for (const [tenant, months] of [
      [kept, 14],
      [robbed, 20],
    ] as const) {
      await inTenantTransaction(db.db, tenant, (trx) => keyRing.activeKey(trx, tenant))
      // Old events (as a trail kept for years holds them), sealed like any.
      for (let i = 0; i < 4; i++) {
        await sql`INSERT INTO audit_events (tenant_id, occurred_at, action, outcome, request_id)
          VALUES (${tenant}, ${monthsAgo(months)}, 'token_set.read', 'success', ${randomUUID()})`.execute(db.admin)
      }
      await insertAuditEvents(db.db, [event(tenant, 1), event(tenant, 2), event(tenant, 3)])
    }
    await sql`SELECT vault_ensure_audit_partitions(now() + interval '3 months')`.execute(db.admin)
    await seal(db, keyRing)
    // Someone with the owner's powers drops the month of the robbed tenant's old events.
    const month = await sql<{ name: string }>`
      SELECT to_char(date_trunc('month', now() - interval '20 months'), '"audit_events_"YYYY_MM') AS name`.execute(db.admin)
    await sql`DROP TABLE ${sql.raw(month.rows[0]!.name)}`.execute(db.admin)
  })
  const retention = await cli.run(['audit', 'retention', '--older-than-days', '365', '--format', 'json'])
  t.equal(retention.code, 0, retention.stderr)
  t.same(JSON.parse(retention.stdout).tenants_without_cut, [])

  const retained = await verify(kept)
  t.equal(retained.code, 0, JSON.stringify(retained.report.problem))
  t.match(
    retained.report,
    { ok: true, checked: 3, dropped_by_retention: 4, digests: 2, unsealed: 1 },
    'the recent events checked, the old ones dropped by the command; its own record not sealed yet',
  )

  const lost = await verify(robbed)
  t.equal(lost.code, 1)
  t.match(lost.report.problem, { kind: 'deleted', digest: 1 })
})

t.test('replicas writing and sealing one tenant at once: consecutive digests, a trail that verifies', async (t) => {
  const tenant = 'verify-concurrent'
  await cli.withDatabase(async (db, _tokenSets, _settings, keyRing) => {
    await inTenantTransaction(db.db, tenant, (trx) => keyRing.activeKey(trx, tenant))
    for (let round = 0; round < 5; round++) {
      await Promise.all([
        ...Array.from({ length: 12 }, (_, i) =>
          insertAuditEvents(db.db, [event(tenant, round * 100 + i), event(tenant, round * 100 + i + 50)]),
        ),
        seal(db, keyRing),
        seal(db, keyRing),
      ])
    }
    await seal(db, keyRing)
    const numbers = await sql<{ number: string }>`
      SELECT number::text FROM audit_digests WHERE tenant_id = ${tenant} ORDER BY number`.execute(db.admin)
    t.same(
      numbers.rows.map((row) => Number(row.number)),
      numbers.rows.map((_, i) => i + 1),
      'no number twice, none skipped',
    )
  })
  const { code, report } = await verify(tenant)
  t.equal(code, 0, JSON.stringify(report.problem))
  t.match(report, { checked: 120, unsealed: 0 })
})

t.test('the key lifecycle covers digests: counted, moved to a new version, refused destruction, shredded', async (t) => {
  const tenant = 'verify-keys'
  await sealedTrail(tenant, 6)
  const status = async () => JSON.parse((await cli.run(['keys', 'status', '--tenant', tenant, '--format', 'json'])).stdout).data_keys
  t.match(await status(), [{ version: 1, audit_digests: 1 }])
  t.equal((await cli.run(['keys', 'rotate', '--tenant', tenant])).code, 0)
  const refused = await cli.run(['keys', 'destroy', '--tenant', tenant, '--version', '1'])
  t.equal(refused.code, 1, 'version 1 still seals a digest')
  t.match(refused.stdout, /1 audit digests/)
  t.equal((await cli.run(['keys', 'reencrypt', '--tenant', tenant])).code, 0)
  t.match(await status(), [
    { version: 1, audit_digests: 0 },
    { version: 2, audit_digests: 1 },
  ])
  const afterMove = await verify(tenant)
  t.equal(afterMove.code, 0, 'the moved digest still vouches for the trail')
  t.equal((await cli.run(['keys', 'destroy', '--tenant', tenant, '--version', '1'])).code, 0)
  t.match((await cli.run(['verify', '--tenant', tenant, '--format', 'json'])).stdout, /"audit_digests_checked":1/)

  await asAdmin((db) => sql`UPDATE audit_digests SET cut = '[]' WHERE tenant_id = ${tenant}`.execute(db.admin))
  const forged = await cli.run(['keys', 'rotate', '--tenant', tenant]).then(() => cli.run(['keys', 'reencrypt', '--tenant', tenant]))
  t.equal(forged.code, 1, 'a forged digest is never re-sealed into looking genuine')
  t.match(forged.stderr, 'failed its integrity check')
  t.match((await cli.run(['verify', '--tenant', tenant, '--format', 'json'])).stdout, /audit_digest:1/, 'keys verify names a forged digest')

  t.equal((await cli.run(['tenants', 'shred', tenant, '--yes'])).code, 0)
  await cli.withDatabase(async (db) => {
    const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_digests WHERE tenant_id = ${tenant}`.execute(db.admin)
    t.equal(left.rows[0]!.n, 0, 'a shred erases the digests with the keys that sealed them')
  })
})

t.test('digests are exportable: NDJSON beside the events, resumed from the file, no key in it', async (t) => {
  const tenant = 'verify-export'
  await sealedTrail(tenant, 8)
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'vault-digests-')), 'digests.ndjson')
  const first = await cli.run(['audit', 'digests', '--tenant', tenant, '--output', file, '--format', 'json'])
  t.equal(first.code, 0, first.stderr)
  const lines = () =>
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
  t.match(lines(), [{ tenant_id: tenant, number: '1', kind: 'seal', after_id: '0', key_version: 1 }])
  t.equal(Buffer.from(lines()[0].entries, 'base64').length, 8 * 32, 'one 32-byte entry per event')
  t.notOk('wrapped_key' in lines()[0] || 'root_key_id' in lines()[0], 'the data key stays in the vault')
  t.equal((await cli.run(['audit', 'digests', '--tenant', tenant, '--output', file])).code, 0)
  t.equal(lines().length, 1, 'a second run exports nothing twice')
  await cli.withDatabase(async (db, _tokenSets, _settings, keyRing) => {
    await insertAuditEvents(db.db, [event(tenant, 9)])
    await seal(db, keyRing)
  })
  t.equal((await cli.run(['audit', 'digests', '--tenant', tenant, '--output', file])).code, 0)
  t.same(
    lines().map((line) => line.number),
    ['1', '2'],
    'the next one appended',
  )
  t.equal(lines()[1].after_id, lines()[0].through_id, 'each starts where the last ended')

  const notDigests = path.join(path.dirname(file), 'events.ndjson')
  writeFileSync(notDigests, '{"id":"41","action":"token_set.read"}\n')
  const refused = await cli.run(['audit', 'digests', '--tenant', tenant, '--output', notDigests])
  t.equal(refused.code, 2, 'a file of something else is not resumed into')
  t.match(refused.stderr, 'is not an audit digest')
  t.equal(readFileSync(notDigests, 'utf8'), '{"id":"41","action":"token_set.read"}\n', 'and left as it was')
})

t.test('wrong use is exit 2', async (t) => {
  t.equal((await cli.run(['audit', 'verify'])).code, 2, 'no tenant')
  t.equal((await cli.run(['audit', 'verify', '--tenant', 'bad tenant'])).code, 2, 'not a tenant id')
  t.equal((await cli.run(['audit', 'verify', '--tenant', 'acme', '--sample', '10'])).code, 2, 'no such option')
})
