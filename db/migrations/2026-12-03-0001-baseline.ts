import { readFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'

// The 1.0 baseline: the whole schema as of this release, in one migration. Frozen in time: it never imports
// application code, and once released it is never edited (a test pins its hash): changes go in a new
// migration. Database functions are loaded from their versioned source files in db/functions/, which are
// pinned the same way. It must produce the same schema on PGlite and on a PostgreSQL server.
//
// It runs as the tables' owner, who needs neither superuser nor CREATEROLE: the two roles it grants to are
// cluster-wide and created beforehand by an administrator (db/bootstrap.sql, `secret-vault db bootstrap`).

const FUNCTIONS = [
  'vault_insert_audit_events.v1',
  'vault_read_and_record_token_sets.v1',
  'vault_prepare_pushes.v1',
  'vault_write_pushed_token_sets.v1',
] as const

const functionSource = (name: string) => readFileSync(new URL(`../functions/${name}.sql`, import.meta.url), 'utf8')

/** Every table is a tenant table: tenant first in its key, forced RLS, composite foreign keys. */
const TABLES = ['tenants', 'data_keys', 'token_sets', 'connector_refresh_settings', 'audit_events'] as const

const statements = [
  sql`DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'secret_vault_app')
       OR NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'secret_vault_operator') THEN
      RAISE EXCEPTION 'the roles secret_vault_app and secret_vault_operator do not exist: an administrator runs "secret-vault db bootstrap" (or db/bootstrap.sql) once first';
    END IF;
  END $$`,

  sql`CREATE TABLE tenants (
    tenant_id text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,

  sql`CREATE TABLE data_keys (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    version integer NOT NULL CHECK (version > 0),
    state text NOT NULL CHECK (state IN ('active', 'decrypt_only')),
    root_key_id text NOT NULL,
    wrapped_key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    CONSTRAINT data_keys_pkey PRIMARY KEY (tenant_id, version)
  )`,
  // At most one active data key per tenant.
  sql`CREATE UNIQUE INDEX data_keys_one_active ON data_keys (tenant_id) WHERE state = 'active'`,

  // No index holds key_version and pages keep 30% free, so re-encryption, pushes and refreshes (which never
  // change a row's identity) can be heap-only updates that touch no index.
  sql`CREATE TABLE token_sets (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    id uuid NOT NULL,
    user_id text NOT NULL,
    connector_type text NOT NULL CHECK (connector_type IN ('social', 'enterprise_sso')),
    connector_id text NOT NULL,
    target text,
    issuer text,
    provider_subject text,
    token_type text NOT NULL,
    scope text NOT NULL,
    expires_at timestamptz,
    issued_at timestamptz NOT NULL,
    state text NOT NULL CHECK (state IN ('active', 'reauth_required')),
    key_version integer NOT NULL,
    -- Fresh for every write of the row and bound into the access token: an older sealed value written back
    -- does not open (only a rollback of the whole row to an older state goes unnoticed).
    write_id uuid NOT NULL,
    access_token_sealed bytea NOT NULL,
    refresh_token_sealed bytea,
    -- The authorization server the refresh token belongs to (the connector's token endpoint or issuer when it
    -- was stored). Bound into the refresh token's associated data: it is sent nowhere else.
    refresh_server text,
    id_token_sealed bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT token_sets_pkey PRIMARY KEY (tenant_id, id),
    -- One token set per user and connector; its leading columns also serve "all token sets of a user".
    CONSTRAINT token_sets_user_connector_key UNIQUE (tenant_id, user_id, connector_type, connector_id),
    -- A data-key version cannot be destroyed while a token set still needs it.
    CONSTRAINT token_sets_data_key_fkey FOREIGN KEY (tenant_id, key_version) REFERENCES data_keys (tenant_id, version) ON DELETE RESTRICT
  ) WITH (fillfactor = 70)`,
  // Ends with user_id, so that whichever index the planner picks finds a connection's one row by its full
  // key; the connector-wide deletes use its prefix.
  sql`CREATE INDEX token_sets_connector_idx ON token_sets (tenant_id, connector_type, connector_id, user_id)`,

  sql`CREATE TABLE connector_refresh_settings (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    connector_type text NOT NULL CHECK (connector_type IN ('social', 'enterprise_sso')),
    connector_id text NOT NULL,
    token_endpoint text,
    issuer text,
    client_id text NOT NULL,
    client_auth_method text NOT NULL CHECK (client_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
    -- Sealed for every connector (empty for a public client): its associated data binds every column above,
    -- so a change made behind the vault's back fails to open before any outbound call.
    client_secret_sealed bytea NOT NULL,
    extra_params jsonb NOT NULL DEFAULT '{}'::jsonb,
    key_version integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT connector_refresh_settings_pkey PRIMARY KEY (tenant_id, connector_type, connector_id),
    CONSTRAINT connector_refresh_settings_data_key_fkey FOREIGN KEY (tenant_id, key_version) REFERENCES data_keys (tenant_id, version) ON DELETE RESTRICT,
    -- Exactly one way to find the token endpoint.
    CONSTRAINT connector_refresh_settings_endpoint_check CHECK ((token_endpoint IS NULL) <> (issuer IS NULL))
  )`,
  sql`CREATE INDEX connector_refresh_settings_key_version_idx ON connector_refresh_settings (tenant_id, key_version)`,

  // Append-only. No foreign key to tenants on purpose: events outlive a shredded tenant.
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
    -- The vault's own id of the request; the caller's x-request-id, when well-formed, beside it.
    request_id text NOT NULL,
    caller_request_id text,
    key_version integer,
    CONSTRAINT audit_events_pkey PRIMARY KEY (tenant_id, id)
  )`,
  sql`CREATE INDEX audit_events_user_idx ON audit_events (tenant_id, user_id, id)`,
  sql`CREATE INDEX audit_events_time_idx ON audit_events (tenant_id, occurred_at)`,

  // Tenant isolation is the database's job: forced RLS on every table, the tenant taken from a
  // transaction-local setting (unset matches no row). Operators are admitted to every tenant explicitly.
  ...TABLES.flatMap((table) => [
    sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`,
    sql`ALTER TABLE ${sql.table(table)} FORCE ROW LEVEL SECURITY`,
    sql`CREATE POLICY tenant_isolation ON ${sql.table(table)} TO secret_vault_app
      USING (tenant_id = current_setting('vault.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('vault.tenant_id', true))`,
    sql`CREATE POLICY operator_all_tenants ON ${sql.table(table)} TO secret_vault_operator USING (true) WITH CHECK (true)`,
  ]),

  // Least privilege. The service never updates or deletes keys; nobody updates or deletes audit events.
  sql`GRANT SELECT, INSERT ON tenants, data_keys, audit_events TO secret_vault_app`,
  sql`GRANT SELECT, INSERT, UPDATE, DELETE ON token_sets, connector_refresh_settings TO secret_vault_app`,
  sql`GRANT SELECT, DELETE ON tenants TO secret_vault_operator`,
  sql`GRANT SELECT, INSERT, UPDATE, DELETE ON data_keys TO secret_vault_operator`,
  sql`GRANT SELECT, UPDATE, DELETE ON token_sets, connector_refresh_settings TO secret_vault_operator`,
  sql`GRANT SELECT, INSERT ON audit_events TO secret_vault_operator`,
  // Both check at start that the database is migrated as far as their code expects.
  sql`GRANT SELECT ON kysely_migration TO secret_vault_app, secret_vault_operator`,
]

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db)
  for (const name of FUNCTIONS) await sql.raw(functionSource(name)).execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const name of [...FUNCTIONS].reverse()) await sql`DROP FUNCTION ${sql.raw(name.replace(/\.v\d+$/, ''))}`.execute(db)
  for (const table of [...TABLES].reverse()) await sql`DROP TABLE ${sql.table(table)}`.execute(db)
  await sql`REVOKE SELECT ON kysely_migration FROM secret_vault_app, secret_vault_operator`.execute(db)
}
