import { sql, type Kysely } from 'kysely'

// Frozen in time: this file never imports application code. It must produce the same schema on PGlite and
// on a PostgreSQL server.

const SERVICE_ROLE = 'secret_vault_app'
const TENANT_TABLES = ['tenants', 'data_keys', 'token_sets'] as const

export async function up(db: Kysely<any>): Promise<void> {
  // Roles are cluster-wide; another database of the same cluster may have created it already.
  await sql`
    DO $$ BEGIN
      CREATE ROLE secret_vault_app NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`.execute(db)

  await db.schema
    .createTable('tenants')
    .addColumn('tenant_id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('data_keys')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().check(sql`version > 0`))
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('active', 'decrypt_only')`))
    .addColumn('root_key_id', 'text', (c) => c.notNull())
    .addColumn('wrapped_key', 'bytea', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('retired_at', 'timestamptz')
    .addPrimaryKeyConstraint('data_keys_pkey', ['tenant_id', 'version'])
    .addForeignKeyConstraint('data_keys_tenant_fkey', ['tenant_id'], 'tenants', ['tenant_id'], (fk) =>
      fk.onDelete('restrict'),
    )
    .execute()
  // At most one active data key per tenant.
  await sql`CREATE UNIQUE INDEX data_keys_one_active ON data_keys (tenant_id) WHERE state = 'active'`.execute(db)

  await db.schema
    .createTable('token_sets')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('connector_type', 'text', (c) => c.notNull().check(sql`connector_type IN ('social', 'enterprise_sso')`))
    .addColumn('connector_id', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('issuer', 'text')
    .addColumn('provider_subject', 'text')
    .addColumn('token_type', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state IN ('active', 'reauth_required')`))
    .addColumn('key_version', 'integer', (c) => c.notNull())
    .addColumn('access_token_sealed', 'bytea', (c) => c.notNull())
    .addColumn('refresh_token_sealed', 'bytea')
    .addColumn('id_token_sealed', 'bytea')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('token_sets_pkey', ['tenant_id', 'id'])
    // One token set per user and connector; its leading columns also serve "all token sets of a user".
    .addUniqueConstraint('token_sets_user_connector_key', ['tenant_id', 'user_id', 'connector_type', 'connector_id'])
    .addForeignKeyConstraint('token_sets_tenant_fkey', ['tenant_id'], 'tenants', ['tenant_id'], (fk) =>
      fk.onDelete('restrict'),
    )
    // A data-key version cannot be destroyed while a token set still needs it.
    .addForeignKeyConstraint(
      'token_sets_data_key_fkey',
      ['tenant_id', 'key_version'],
      'data_keys',
      ['tenant_id', 'version'],
      (fk) => fk.onDelete('restrict'),
    )
    .execute()
  await db.schema.createIndex('token_sets_connector_idx').on('token_sets').columns(['tenant_id', 'connector_type', 'connector_id']).execute()
  await db.schema.createIndex('token_sets_key_version_idx').on('token_sets').columns(['tenant_id', 'key_version']).execute()

  // Tenant isolation is the database's job: forced RLS on every table, the tenant taken from a
  // transaction-local setting. An unset setting matches no row.
  for (const table of TENANT_TABLES) {
    await sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`.execute(db)
    await sql`ALTER TABLE ${sql.table(table)} FORCE ROW LEVEL SECURITY`.execute(db)
    await sql`
      CREATE POLICY tenant_isolation ON ${sql.table(table)} TO ${sql.id(SERVICE_ROLE)}
      USING (tenant_id = current_setting('vault.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('vault.tenant_id', true))`.execute(db)
  }
  await sql`GRANT SELECT, INSERT ON tenants TO ${sql.id(SERVICE_ROLE)}`.execute(db)
  await sql`GRANT SELECT, INSERT ON data_keys TO ${sql.id(SERVICE_ROLE)}`.execute(db)
  await sql`GRANT SELECT, INSERT, UPDATE, DELETE ON token_sets TO ${sql.id(SERVICE_ROLE)}`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('token_sets').execute()
  await db.schema.dropTable('data_keys').execute()
  await db.schema.dropTable('tenants').execute()
}
