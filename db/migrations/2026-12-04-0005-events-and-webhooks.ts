import { readFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'

// Lifecycle events through a transactional outbox, delivered as signed webhooks; refresh tokens revoked at
// the provider (RFC 7009) when a connection goes or a push replaces them.
//
// A change to a connection and its event commit together: statement triggers on token_sets
// (vault_connection_events, once per statement for all its rows) read what the change means and record it
// through vault_emit_event, which stores the event and one pending delivery per subscribed endpoint in the
// same transaction — or nothing, when no endpoint subscribes. Any replica delivers: vault_claim_webhook_deliveries leases due deliveries
// with SKIP LOCKED, without a leader. token_sets.last_refreshed_at is written by refreshes only, so that
// the trigger can tell a refresh from a push.
//
// The same triggers queue the revocation of a refresh token that a delete or a push leaves behind, when the
// connector revokes (revoke_tokens, on by default) and has somewhere to send it (revocation_endpoint, or an
// issuer whose discovery names one). A queued revocation holds the sealed refresh token and a copy of the
// connector's settings with its sealed client secret, so that it outlives a deleted connector; it is
// erased once revoked or given up. vault_claim_token_revocations leases them like deliveries.
// vault_prune_outbox deletes finished deliveries and their events after the retention period.
//
// An endpoint's signing secrets are sealed under the tenant's data key and bound to its URL and event
// types (a change behind the vault's back makes them fail to open before anything is sent). Every table is
// a tenant table: tenant first in its key, composite foreign keys, forced row-level security.
// Frozen in time like every migration: no application code, and never edited once released.

const CREATED = [
  'vault_emit_event.v1',
  'vault_connection_event_data.v1',
  'vault_connection_events.v1',
  'vault_claim_webhook_deliveries.v1',
  'vault_claim_token_revocations.v1',
  'vault_prune_outbox.v1',
] as const
const TABLES = ['events', 'webhook_endpoints', 'webhook_deliveries', 'token_revocations'] as const

const functionSource = (name: string) => readFileSync(new URL(`../functions/${name}.sql`, import.meta.url), 'utf8')

const statements = [
  sql`ALTER TABLE token_sets ADD COLUMN last_refreshed_at timestamptz`,
  // Both bound into the sealed client secret when they differ from these defaults.
  sql`ALTER TABLE connector_refresh_settings ADD COLUMN revocation_endpoint text, ADD COLUMN revoke_tokens boolean NOT NULL DEFAULT true`,

  sql`CREATE TABLE events (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    type text NOT NULL CHECK (type ~ '^[a-z_]+\\.[a-z_]+$'),
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Ids, states, scopes, times and reason codes: never a token, never a secret.
    data jsonb NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (tenant_id, id)
  )`,
  sql`CREATE INDEX events_occurred_at_idx ON events (tenant_id, occurred_at)`,

  sql`CREATE TABLE webhook_endpoints (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    id uuid NOT NULL,
    url text NOT NULL,
    -- Empty: every type.
    event_types text[] NOT NULL DEFAULT '{}',
    description text NOT NULL DEFAULT '',
    key_version integer NOT NULL,
    -- The signing secrets (the current one, and the previous one while its overlap lasts), bound to tenant,
    -- id, url, event types and key version.
    secrets_sealed bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT webhook_endpoints_data_key_fkey FOREIGN KEY (tenant_id, key_version) REFERENCES data_keys (tenant_id, version) ON DELETE RESTRICT
  )`,
  sql`CREATE INDEX webhook_endpoints_key_version_idx ON webhook_endpoints (tenant_id, key_version)`,

  sql`CREATE TABLE webhook_deliveries (
    tenant_id text NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    endpoint_id uuid NOT NULL,
    event_id uuid NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- Null until the first attempt fails: due at once, by whatever clock the replicas keep.
    next_attempt_at timestamptz,
    lease_until timestamptz,
    -- By the attempting replica's clock: the retry period counts from the first attempt.
    first_attempt_at timestamptz,
    last_attempt_at timestamptz,
    -- The endpoint's HTTP status, or a fixed code for a failure before one (timeout, refused, ...); never a body.
    last_status integer,
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT webhook_deliveries_endpoint_fkey FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT webhook_deliveries_event_fkey FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id) ON DELETE CASCADE
  )`,
  sql`CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (tenant_id, next_attempt_at NULLS FIRST) WHERE state = 'pending'`,
  sql`CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (tenant_id, endpoint_id, created_at)`,
  sql`CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (tenant_id, event_id)`,

  sql`CREATE TABLE token_revocations (
    tenant_id text NOT NULL REFERENCES tenants (tenant_id) ON DELETE RESTRICT,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    -- The connection the token came from (deleted, or holding a newer token): what its seal is bound to.
    token_set_id uuid NOT NULL,
    user_id text NOT NULL,
    connector_type text NOT NULL,
    connector_id text NOT NULL,
    reason text NOT NULL CHECK (reason IN ('deleted', 'replaced')),
    token_key_version integer NOT NULL,
    refresh_server text,
    refresh_token_sealed bytea NOT NULL,
    -- The connector's settings as they were, with their sealed client secret (bound to all of them).
    token_endpoint text,
    issuer text,
    client_id text NOT NULL,
    client_auth_method text NOT NULL,
    extra_params jsonb NOT NULL,
    revocation_endpoint text,
    revoke_tokens boolean NOT NULL,
    settings_key_version integer NOT NULL,
    client_secret_sealed bytea NOT NULL,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz,
    lease_until timestamptz,
    first_attempt_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT token_revocations_pkey PRIMARY KEY (tenant_id, id),
    CONSTRAINT token_revocations_token_key_fkey FOREIGN KEY (tenant_id, token_key_version) REFERENCES data_keys (tenant_id, version) ON DELETE RESTRICT,
    CONSTRAINT token_revocations_settings_key_fkey FOREIGN KEY (tenant_id, settings_key_version) REFERENCES data_keys (tenant_id, version) ON DELETE RESTRICT
  )`,
  sql`CREATE INDEX token_revocations_due_idx ON token_revocations (tenant_id, next_attempt_at NULLS FIRST)`,
  sql`CREATE INDEX token_revocations_token_set_idx ON token_revocations (tenant_id, token_set_id)`,

  ...TABLES.flatMap((table) => [
    sql`ALTER TABLE ${sql.table(table)} ENABLE ROW LEVEL SECURITY`,
    sql`ALTER TABLE ${sql.table(table)} FORCE ROW LEVEL SECURITY`,
    sql`CREATE POLICY tenant_isolation ON ${sql.table(table)} TO secret_vault_app
      USING (tenant_id = current_setting('vault.tenant_id', true))
      WITH CHECK (tenant_id = current_setting('vault.tenant_id', true))`,
    sql`CREATE POLICY operator_all_tenants ON ${sql.table(table)} TO secret_vault_operator USING (true) WITH CHECK (true)`,
  ]),
  // Events are append-only but for retention; deliveries record their attempts.
  sql`GRANT SELECT, INSERT, DELETE ON events TO secret_vault_app`,
  sql`GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints, webhook_deliveries TO secret_vault_app`,
  // An operator's change to a connection (a shred) records its events like the service's; operators move
  // signing secrets to new key versions, verify them, and shred tenants.
  sql`GRANT SELECT, INSERT, DELETE ON events, webhook_deliveries TO secret_vault_operator`,
  sql`GRANT SELECT, UPDATE, DELETE ON webhook_endpoints TO secret_vault_operator`,
  // Queued by the trigger for the service and operators alike; worked off and erased by the service.
  sql`GRANT SELECT, INSERT, UPDATE, DELETE ON token_revocations TO secret_vault_app`,
  sql`GRANT SELECT, INSERT, DELETE ON token_revocations TO secret_vault_operator`,
]

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db)
  for (const name of CREATED) await sql.raw(functionSource(name)).execute(db)
  // One per event, as transition tables require; each runs once per statement, for all its rows.
  await sql`CREATE TRIGGER token_sets_inserted_events AFTER INSERT ON token_sets
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vault_connection_events()`.execute(db)
  await sql`CREATE TRIGGER token_sets_updated_events AFTER UPDATE ON token_sets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION vault_connection_events()`.execute(db)
  await sql`CREATE TRIGGER token_sets_deleted_events AFTER DELETE ON token_sets
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION vault_connection_events()`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const trigger of ['token_sets_inserted_events', 'token_sets_updated_events', 'token_sets_deleted_events']) {
    await sql`DROP TRIGGER ${sql.raw(trigger)} ON token_sets`.execute(db)
  }
  await sql`DROP FUNCTION vault_prune_outbox(timestamptz)`.execute(db)
  await sql`DROP FUNCTION vault_claim_token_revocations(timestamptz, integer, integer)`.execute(db)
  await sql`DROP FUNCTION vault_claim_webhook_deliveries(timestamptz, integer, integer)`.execute(db)
  await sql`DROP FUNCTION vault_connection_events()`.execute(db)
  await sql`DROP FUNCTION vault_connection_event_data(token_sets)`.execute(db)
  await sql`DROP FUNCTION vault_emit_event(text, text, jsonb, uuid)`.execute(db)
  for (const table of [...TABLES].reverse()) await sql`DROP TABLE ${sql.table(table)}`.execute(db)
  await sql`ALTER TABLE connector_refresh_settings DROP COLUMN revocation_endpoint, DROP COLUMN revoke_tokens`.execute(db)
  await sql`ALTER TABLE token_sets DROP COLUMN last_refreshed_at`.execute(db)
}
