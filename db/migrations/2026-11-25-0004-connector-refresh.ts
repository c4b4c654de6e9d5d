import { sql, type Kysely } from 'kysely'

// Frozen in time: this file never imports application code.
//
// How the vault refreshes a connector's token sets: the provider's token endpoint (or the OIDC issuer to
// discover it from), the client id, and the client secret sealed under the tenant's data key like a token.
// Composite keys and forced RLS as everywhere; the data-key foreign key keeps a version from being destroyed
// while a client secret still needs it.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('connector_refresh_settings')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('connector_type', 'text', (c) => c.notNull().check(sql`connector_type IN ('social', 'enterprise_sso')`))
    .addColumn('connector_id', 'text', (c) => c.notNull())
    .addColumn('token_endpoint', 'text')
    .addColumn('issuer', 'text')
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('client_auth_method', 'text', (c) =>
      c.notNull().check(sql`client_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')`),
    )
    .addColumn('client_secret_sealed', 'bytea')
    .addColumn('extra_params', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('key_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('connector_refresh_settings_pkey', ['tenant_id', 'connector_type', 'connector_id'])
    .addForeignKeyConstraint('connector_refresh_settings_tenant_fkey', ['tenant_id'], 'tenants', ['tenant_id'], (fk) =>
      fk.onDelete('restrict'),
    )
    .addForeignKeyConstraint(
      'connector_refresh_settings_data_key_fkey',
      ['tenant_id', 'key_version'],
      'data_keys',
      ['tenant_id', 'version'],
      (fk) => fk.onDelete('restrict'),
    )
    // Exactly one way to find the token endpoint; a secret exactly when the method sends one.
    .addCheckConstraint('connector_refresh_settings_endpoint_check', sql`(token_endpoint IS NULL) <> (issuer IS NULL)`)
    .addCheckConstraint(
      'connector_refresh_settings_secret_check',
      sql`(client_secret_sealed IS NULL) = (client_auth_method = 'none')`,
    )
    .execute()
  await db.schema
    .createIndex('connector_refresh_settings_key_version_idx')
    .on('connector_refresh_settings')
    .columns(['tenant_id', 'key_version'])
    .execute()

  await sql`ALTER TABLE connector_refresh_settings ENABLE ROW LEVEL SECURITY`.execute(db)
  await sql`ALTER TABLE connector_refresh_settings FORCE ROW LEVEL SECURITY`.execute(db)
  await sql`
    CREATE POLICY tenant_isolation ON connector_refresh_settings TO secret_vault_app
    USING (tenant_id = current_setting('vault.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('vault.tenant_id', true))`.execute(db)
  await sql`CREATE POLICY operator_all_tenants ON connector_refresh_settings TO secret_vault_operator USING (true) WITH CHECK (true)`.execute(db)
  await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON connector_refresh_settings TO secret_vault_app`.execute(db)
  await sql`GRANT SELECT, UPDATE, DELETE ON connector_refresh_settings TO secret_vault_operator`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('connector_refresh_settings').execute()
}
