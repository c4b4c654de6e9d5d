import { readFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'

// The audit trail, partitioned by month (UTC), so that retention drops whole months instead of deleting
// rows. audit_events keeps its name, columns, indexes, policies and grants; its primary key gains
// occurred_at (a partitioned table's keys must hold the partition key) and still starts with tenant_id.
// A default partition catches any event whose month was not made ahead, so an insert never fails on a
// missing partition; vault_ensure_audit_partitions (called here, by the service at start and daily, and
// by the CLI) makes the months and moves what the default caught. vault_drop_audit_partitions drops
// months for the retention command. Both are SECURITY DEFINER functions of the tables' owner, the only
// login that may create or drop tables; neither role gets any privilege on a partition itself, so every
// access goes through audit_events and its row-level security.
// Frozen in time like every migration: no application code, and never edited once released.

const CREATED = ['vault_ensure_audit_partitions.v1', 'vault_drop_audit_partitions.v1'] as const
const functionSource = (name: string) => readFileSync(new URL(`../functions/${name}.sql`, import.meta.url), 'utf8')

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of [
    sql`ALTER TABLE audit_events RENAME TO audit_events_unpartitioned`,
    sql`ALTER TABLE audit_events_unpartitioned RENAME CONSTRAINT audit_events_pkey TO audit_events_unpartitioned_pkey`,
    sql`ALTER INDEX audit_events_user_idx RENAME TO audit_events_unpartitioned_user_idx`,
    sql`ALTER INDEX audit_events_time_idx RENAME TO audit_events_unpartitioned_time_idx`,
    sql`CREATE TABLE audit_events (
      tenant_id text NOT NULL,
      id bigint GENERATED ALWAYS AS IDENTITY,
      occurred_at timestamptz NOT NULL DEFAULT now(),
      client_id text,
      action text NOT NULL,
      outcome text NOT NULL CHECK (outcome IN ('success', 'denied', 'failed')),
      error_code text,
      user_id text,
      connector_type text,
      connector_id text,
      request_id text NOT NULL,
      caller_request_id text,
      key_version integer,
      CONSTRAINT audit_events_pkey PRIMARY KEY (tenant_id, id, occurred_at)
    ) PARTITION BY RANGE (occurred_at)`,
    sql`CREATE INDEX audit_events_user_idx ON audit_events (tenant_id, user_id, id)`,
    sql`CREATE INDEX audit_events_time_idx ON audit_events (tenant_id, occurred_at)`,
    sql`CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT`,
    sql`INSERT INTO audit_events OVERRIDING SYSTEM VALUE SELECT * FROM audit_events_unpartitioned`,
    sql`SELECT setval(pg_get_serial_sequence('audit_events', 'id'), coalesce((SELECT max(id) FROM audit_events_unpartitioned), 0) + 1, false)`,
    sql`DROP TABLE audit_events_unpartitioned`,
    sql`ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY`,
    sql`ALTER TABLE audit_events FORCE ROW LEVEL SECURITY`,
    sql`CREATE POLICY tenant_isolation ON audit_events TO secret_vault_app
      USING (tenant_id = current_setting('vault.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('vault.tenant_id', true))`,
    sql`CREATE POLICY operator_all_tenants ON audit_events TO secret_vault_operator USING (true) WITH CHECK (true)`,
    sql`GRANT SELECT, INSERT ON audit_events TO secret_vault_app, secret_vault_operator`,
  ]) {
    await statement.execute(db)
  }
  for (const name of CREATED) await sql.raw(functionSource(name)).execute(db)
  await sql`REVOKE EXECUTE ON FUNCTION vault_ensure_audit_partitions(timestamptz), vault_drop_audit_partitions(timestamptz, boolean) FROM PUBLIC`.execute(
    db,
  )
  await sql`GRANT EXECUTE ON FUNCTION vault_ensure_audit_partitions(timestamptz) TO secret_vault_app, secret_vault_operator`.execute(db)
  await sql`GRANT EXECUTE ON FUNCTION vault_drop_audit_partitions(timestamptz, boolean) TO secret_vault_operator`.execute(db)
  await sql`SELECT vault_ensure_audit_partitions(now() + interval '3 months')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION vault_drop_audit_partitions(timestamptz, boolean)`.execute(db)
  await sql`DROP FUNCTION vault_ensure_audit_partitions(timestamptz)`.execute(db)
  await sql`CREATE TABLE audit_events_flat (LIKE audit_events INCLUDING ALL)`.execute(db)
  await sql`INSERT INTO audit_events_flat SELECT * FROM audit_events`.execute(db)
  await sql`DROP TABLE audit_events`.execute(db)
  await sql`ALTER TABLE audit_events_flat RENAME TO audit_events`.execute(db)
}
