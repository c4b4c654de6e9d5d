import { readFileSync } from 'node:fs'
import { type Kysely, sql } from 'kysely'

// Tamper evidence for the audit trail, sealed beside it. Every so often any replica seals, per tenant, the
// events recorded since its last digest into the next one (audit_digests): each event's id, time and a
// hash of its content, in id order, starting where the last digest ended, under the tenant's data key (the same
// envelope as every secret, so the key lifecycle covers digests). Events are written exactly as before: no
// trigger and no column on the hot path. A digest covers only ids that no open transaction can still
// write below (the sealer waits for every transaction that could hold one to end), so a run of digests
// covers every id once, in order. Retention digests record the months `audit retention` dropped.
// Frozen in time like every migration: no application code, and never edited once released.

const CREATED = ['vault_audit_tenants_to_seal.v1'] as const

const functionSource = (name: string) => readFileSync(new URL(`../functions/${name}.sql`, import.meta.url), 'utf8')

const statements = [
  sql`CREATE TABLE audit_digests (
    tenant_id text NOT NULL,
    -- 1, 2, 3, ... per tenant: a missing number is a deleted digest.
    number bigint NOT NULL CHECK (number > 0),
    -- seal: events (after_id, through_id]. retention: no events; the months dropped (cut).
    kind text NOT NULL CHECK (kind IN ('seal', 'retention')),
    sealed_at timestamptz NOT NULL,
    after_id bigint NOT NULL CHECK (after_id >= 0),
    through_id bigint NOT NULL CHECK (through_id >= after_id),
    -- Per event, in id order: id (8 bytes), occurred_at in microseconds (8), content hash (16).
    entries bytea NOT NULL,
    -- Retention only, JSON text: [[from, to], ...] microsecond ranges of the months dropped.
    cut text,
    key_version integer NOT NULL,
    -- AES-256-GCM under the tenant's data key over nothing, bound to every column above (entries by their
    -- SHA-256): a MAC. Consecutive numbers, each starting where the last ended, chain the digests.
    seal bytea NOT NULL,
    CONSTRAINT audit_digests_pkey PRIMARY KEY (tenant_id, number),
    CONSTRAINT audit_digests_data_key_fkey FOREIGN KEY (tenant_id, key_version) REFERENCES data_keys (tenant_id, version) ON DELETE RESTRICT
  )`,
  sql`CREATE INDEX audit_digests_key_version_idx ON audit_digests (tenant_id, key_version)`,
  sql`ALTER TABLE audit_digests ENABLE ROW LEVEL SECURITY`,
  sql`ALTER TABLE audit_digests FORCE ROW LEVEL SECURITY`,
  sql`CREATE POLICY tenant_isolation ON audit_digests TO secret_vault_app
    USING (tenant_id = current_setting('vault.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('vault.tenant_id', true))`,
  sql`CREATE POLICY operator_all_tenants ON audit_digests TO secret_vault_operator USING (true) WITH CHECK (true)`,
  // The sealer reads how far ids have been drawn (last_value), never draws one.
  sql`GRANT SELECT ON SEQUENCE audit_events_id_seq TO secret_vault_app`,
  // Sealed by the service; retention cuts by operators, who also move them to new key versions and shred.
  sql`GRANT SELECT, INSERT ON audit_digests TO secret_vault_app`,
  sql`GRANT SELECT, INSERT, UPDATE, DELETE ON audit_digests TO secret_vault_operator`,
]

export async function up(db: Kysely<any>): Promise<void> {
  // The sealer reads the identity's sequence by name; re-partitioning left it with a suffix.
  const sequence = await sql<{ name: string }>`SELECT pg_get_serial_sequence('audit_events', 'id') AS name`.execute(db)
  if (sequence.rows[0]!.name !== 'public.audit_events_id_seq') {
    await sql`ALTER SEQUENCE ${sql.raw(sequence.rows[0]!.name)} RENAME TO audit_events_id_seq`.execute(db)
  }
  for (const statement of statements) await statement.execute(db)
  for (const name of CREATED) await sql.raw(functionSource(name)).execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION vault_audit_tenants_to_seal(integer, bigint)`.execute(db)
  await sql`DROP TABLE audit_digests`.execute(db)
}
