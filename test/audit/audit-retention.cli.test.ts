import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import t from 'tap'
import { ensureAuditPartitions, insertAuditEvents } from '../../src/db/vault-functions.ts'
import { createCliEnvironment } from '../support/cli-environment.ts'

/**
 * The audit trail by month: partitions made ahead, retention that drops whole old months (counted first
 * with --dry-run, recorded in each tenant's trail), and nothing else lost.
 */
const cli = await createCliEnvironment(t)
const MONTH = 'audit_events_'

const event = (tenantId: string, userId: string) => ({
  tenant_id: tenantId,
  client_id: 'account-api',
  action: 'token_set.read',
  outcome: 'success' as const,
  error_code: null,
  user_id: userId,
  connector_type: 'social',
  connector_id: 'github',
  request_id: randomUUID(),
  caller_request_id: null,
  key_version: 1,
})

const partitions = () =>
  cli.withDatabase(async (db) => {
    const rows = await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'audit_events'::regclass ORDER BY 1`.execute(db.admin)
    return rows.rows.map((row) => row.name)
  })

const monthName = (offset: number) => {
  const now = new Date()
  const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1))
  return `${MONTH}${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`
}

t.test('months are made ahead; one missing is made again by the service, and what the default caught moves in', async (t) => {
  const made = await partitions()
  for (const offset of [0, 1, 2, 3]) t.ok(made.includes(monthName(offset)), `${monthName(offset)} exists`)
  t.ok(made.includes(`${MONTH}default`))
  await cli.withDatabase(async (db) => {
    await sql`DROP TABLE ${sql.raw(monthName(2))}`.execute(db.admin)
    // Events of long ago (as an old trail migrated in would hold): the default partition catches them.
    await insertAuditEvents(db.db, [event('initech', 'old-1'), event('initech', 'old-2'), event('umbrella', 'old-3')])
    await sql`UPDATE audit_events SET occurred_at = now() - interval '14 months' WHERE user_id LIKE 'old-%'`.execute(db.admin)
    await insertAuditEvents(db.db, [event('initech', 'recent'), event('umbrella', 'recent')])
    const inDefault = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events_default`.execute(db.admin)
    t.equal(inDefault.rows[0]!.n, 3)
    t.equal(
      await ensureAuditPartitions(db.db, new Date(Date.now() + 92 * 86_400_000)),
      15,
      'every month from the oldest event caught on (14), and the missing one',
    )
    const after = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events_default`.execute(db.admin)
    t.equal(after.rows[0]!.n, 0, 'moved into their month')
    t.equal(await ensureAuditPartitions(db.db, new Date(Date.now() + 92 * 86_400_000)), 0, 'idempotent')
  })
  t.ok((await partitions()).includes(monthName(-14)))
  t.ok((await partitions()).includes(monthName(2)))
})

t.test('retention: a dry run counts, the run drops whole old months and records it per tenant; nothing recent is lost', async (t) => {
  const dry = await cli.run(['audit', 'retention', '--older-than-days', '365', '--dry-run', '--json'])
  t.equal(dry.code, 0, dry.stderr)
  const counted = JSON.parse(dry.stdout)
  t.equal(counted.dry_run, true)
  t.match(
    counted.partitions.find((p: { partition: string }) => p.partition === monthName(-14)),
    { events: 3, tenants: 2 },
  )
  t.ok(
    counted.partitions.every((p: { to: string }) => Date.parse(p.to) <= Date.now() - 365 * 86_400_000),
    'only months that ended before the retention period',
  )
  t.ok((await partitions()).includes(monthName(-14)), 'a dry run drops nothing')

  const run = await cli.run(['audit', 'retention', '--older-than-days', '365'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /dropped:/)
  t.match(run.stdout, new RegExp(`${monthName(-14)}\\s+\\S+\\s+\\S+\\s+3\\s+2`))
  t.notOk((await partitions()).includes(monthName(-14)))
  await cli.withDatabase(async (db) => {
    const left = await sql<{ user_id: string | null; action: string }>`
      SELECT user_id, action FROM audit_events ORDER BY tenant_id, id`.execute(db.admin)
    t.same(
      left.rows.filter((row) => row.action === 'token_set.read').map((row) => row.user_id),
      ['recent', 'recent'],
      'the recent events stay',
    )
    t.same(left.rows.filter((row) => row.action === 'audit.retention').length, 2, 'each tenant that lost events records it')
  })
  const again = await cli.run(['audit', 'retention', '--older-than-days', '365', '--json'])
  t.same(JSON.parse(again.stdout).partitions, [], 'nothing more to drop')
  for (const days of ['29', '0', 'x']) {
    const refused = await cli.run(['audit', 'retention', '--older-than-days', days])
    t.equal(refused.code, 2, days)
  }
})

t.test('the service login can neither drop a month nor change or delete an event, even through a partition', async (t) => {
  await cli.withDatabase(async (db) => {
    const asService = (statement: ReturnType<typeof sql>) =>
      db.db.transaction().execute(async (trx) => {
        await sql`SELECT set_config('role', 'secret_vault_app', true), set_config('vault.tenant_id', 'initech', true)`.execute(trx)
        return statement.execute(trx)
      })
    await t.rejects(asService(sql`SELECT vault_drop_audit_partitions(now(), true)`), /permission denied/)
    await t.rejects(asService(sql`DELETE FROM audit_events`), /permission denied/)
    await t.rejects(asService(sql`UPDATE audit_events SET outcome = 'success'`), /permission denied/)
    await t.rejects(asService(sql`DELETE FROM ${sql.raw(monthName(0))}`), /permission denied/)
  })
})
