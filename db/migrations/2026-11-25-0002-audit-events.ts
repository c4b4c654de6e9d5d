import { sql, type Kysely } from 'kysely'

// Frozen in time: this file never imports application code.
//
// The audit trail is append-only for the service: it may insert and read its tenant's events, never update
// or delete them (no grant). It has no foreign key to tenants on purpose: events must outlive a shredded
// tenant, and a denied request for a tenant that has no data yet is still recorded.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_events')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'bigint', (c) => c.notNull().generatedAlwaysAsIdentity())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('client_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome IN ('success', 'denied', 'failed')`))
    .addColumn('error_code', 'text')
    .addColumn('user_id', 'text')
    .addColumn('connector_type', 'text')
    .addColumn('connector_id', 'text')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('key_version', 'integer')
    .addPrimaryKeyConstraint('audit_events_pkey', ['tenant_id', 'id'])
    .execute()
  await db.schema.createIndex('audit_events_user_idx').on('audit_events').columns(['tenant_id', 'user_id', 'id']).execute()
  await db.schema.createIndex('audit_events_time_idx').on('audit_events').columns(['tenant_id', 'occurred_at']).execute()

  await sql`ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY`.execute(db)
  await sql`ALTER TABLE audit_events FORCE ROW LEVEL SECURITY`.execute(db)
  await sql`
    CREATE POLICY tenant_isolation ON audit_events TO secret_vault_app
    USING (tenant_id = current_setting('vault.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('vault.tenant_id', true))`.execute(db)
  await sql`GRANT SELECT, INSERT ON audit_events TO secret_vault_app`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_events').execute()
}
