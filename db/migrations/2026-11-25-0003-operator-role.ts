import { sql, type Kysely } from 'kysely'

// Frozen in time: this file never imports application code.
//
// Operator commands (key status, rotation, re-encryption, destruction, shredding, verification) span
// tenants, so they work as a role of their own: secret_vault_operator. It is neither owner nor superuser;
// explicit policies admit it to every tenant's rows, and grants give it exactly what the commands need.
// The service role's policies and grants are unchanged.

const TABLES = ['tenants', 'data_keys', 'token_sets', 'audit_events'] as const

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    DO $$ BEGIN
      CREATE ROLE secret_vault_operator NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`.execute(db)
  for (const table of TABLES) {
    await sql`CREATE POLICY operator_all_tenants ON ${sql.table(table)} TO secret_vault_operator USING (true) WITH CHECK (true)`.execute(db)
  }
  await sql`GRANT SELECT, DELETE ON tenants TO secret_vault_operator`.execute(db)
  await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON data_keys TO secret_vault_operator`.execute(db)
  await sql`GRANT SELECT, UPDATE, DELETE ON token_sets TO secret_vault_operator`.execute(db)
  // The trail stays append-only for operators too.
  await sql`GRANT SELECT, INSERT ON audit_events TO secret_vault_operator`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) await sql`DROP POLICY operator_all_tenants ON ${sql.table(table)}`.execute(db)
  await sql`REVOKE ALL ON tenants, data_keys, token_sets, audit_events FROM secret_vault_operator`.execute(db)
}
