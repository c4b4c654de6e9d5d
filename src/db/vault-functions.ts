import { type Expression, type Kysely, type Selectable, sql } from 'kysely'
import type { AuditEventsTable, ConnectorType, DataKeysTable, DB, TokenSetsTable } from './schema.ts'

// The only TypeScript that calls the database functions of db/functions. The token-set and audit functions
// take named records (a jsonb array of objects whose keys are the column list the function declares) and
// answer one row per record they have an answer for, with the record's 1-based position as `n`. The record
// types here mirror those column lists; the functions decide nothing (see each source file). The MFA
// attempt counter is the exception that holds a rule (its limit and lockout), for one user per call.

/** bytea travels as its hex text form inside jsonb; timestamps as ISO 8601. */
const bytea = (bytes: Uint8Array | null): string | null => (bytes === null ? null : `\\x${Buffer.from(bytes).toString('hex')}`)
const timestamp = (date: Date | null): string | null => (date === null ? null : date.toISOString())

function records(values: readonly object[]) {
  return sql`${JSON.stringify(values)}::jsonb`
}

/** Puts each returned row back at its record's position; records without a row stay undefined. */
function byPosition<R extends { n: number }>(count: number, rows: readonly R[]): (Omit<R, 'n'> | undefined)[] {
  const out = new Array<Omit<R, 'n'> | undefined>(count).fill(undefined)
  for (const { n, ...row } of rows) out[n - 1] = row
  return out
}

export interface ConnectionRecord {
  tenant_id: string
  user_id: string
  connector_type: ConnectorType
  connector_id: string
}

export type AuditEventRecord = Pick<
  AuditEventsTable,
  | 'tenant_id'
  | 'client_id'
  | 'action'
  | 'outcome'
  | 'error_code'
  | 'user_id'
  | 'connector_type'
  | 'connector_id'
  | 'request_id'
  | 'key_version'
> & { caller_request_id: string | null }

/** vault_insert_audit_events: many tenants' events, in order, in one statement. */
export async function insertAuditEvents(db: Kysely<DB>, events: readonly AuditEventRecord[]): Promise<void> {
  await sql`SELECT vault_insert_audit_events(${records(events)})`.execute(db)
}

/** One read as vault_read_token_sets takes it. */
export interface TokenSetReadRecord extends ConnectionRecord {
  /** Space-separated scopes the caller requires, or null. */
  required_scopes: string | null
  at: Date
  /** Null: the caller cannot refresh, so a due token is served while valid. */
  refresh_margin_ms: number | null
  client_id: string | null
  request_id: string
  caller_request_id: string | null
}

export type ReadVerdict = 'serve' | 'refresh' | 'reconnect' | 'insufficient_scope'

export type ReadTokenSetRow = Pick<
  Selectable<TokenSetsTable>,
  | 'id'
  | 'state'
  | 'token_type'
  | 'scope'
  | 'expires_at'
  | 'issued_at'
  | 'target'
  | 'issuer'
  | 'provider_subject'
  | 'write_id'
  | 'key_version'
  | 'access_token_sealed'
> &
  Pick<Selectable<DataKeysTable>, 'root_key_id' | 'wrapped_key'> & {
    has_refresh_token: boolean
    verdict: ReadVerdict
    /** For insufficient_scope: 1-based positions in required_scopes that are not granted. */
    missing_scopes: number[] | null
    /** The connector's refresh policy on how long a read waits for a refresh; null: the service's. */
    read_wait_ms: number | null
  }

/**
 * vault_read_token_sets: per read, the sealed access token with its bound metadata and wrapped data key,
 * and the read's verdict; a read served as stored is recorded (auditAction) by the same statement.
 */
export async function readTokenSets(
  db: Kysely<DB>,
  reads: readonly TokenSetReadRecord[],
  auditAction: string,
): Promise<(ReadTokenSetRow | undefined)[]> {
  const encoded = reads.map((r) => ({ ...r, at: timestamp(r.at) }))
  const result = await sql<ReadTokenSetRow & { n: number }>`
    SELECT * FROM vault_read_token_sets(${records(encoded)}, ${auditAction})`.execute(db)
  return byPosition(reads.length, result.rows)
}

/**
 * vault_refresh_due, as a column of a query: whether a token expiring at `expiresAt` is due at `at`, with
 * the margin its connector's refresh policy names (`policy` null: no settings), else `marginMs`.
 */
export function refreshDue(
  expiresAt: Expression<Date | null>,
  issuedAt: Expression<Date>,
  at: Date,
  marginMs: number,
  policy: Expression<unknown>,
) {
  return sql<boolean>`vault_refresh_due(${expiresAt}, ${issuedAt}, ${at}, ${marginMs}, ${policy})`
}

/** vault_keep_alive_due, as a column of a query: whether a set is due for a keep-alive refresh at `at`. */
export function keepAliveDue(issuedAt: Expression<Date>, nextRefreshAt: Expression<Date | null>, policy: Expression<unknown>, at: Date) {
  return sql<boolean>`vault_keep_alive_due(${issuedAt}, ${nextRefreshAt}, ${policy}, ${at}) IS TRUE`
}

/** vault_find_keep_alive_sets: at most `limit` connections due for a keep-alive refresh, across tenants. */
export async function findKeepAliveSets(db: Kysely<DB>, at: Date, limit: number): Promise<ConnectionRecord[]> {
  const result = await sql<ConnectionRecord>`SELECT * FROM vault_find_keep_alive_sets(${at}, ${limit})`.execute(db)
  return result.rows
}

export interface TokenSetCountRow {
  state: TokenSetsTable['state']
  refresh_failing: boolean
  count: number
}

/** vault_count_data_keys: every tenant's data-key versions, counted by state. */
export async function countDataKeys(db: Kysely<DB>): Promise<{ state: DataKeysTable['state']; count: number }[]> {
  const result = await sql<{ state: DataKeysTable['state']; count: string }>`SELECT * FROM vault_count_data_keys()`.execute(db)
  return result.rows.map((row) => ({ ...row, count: Number(row.count) }))
}

/** vault_count_token_sets: every tenant's token sets, counted by state and whether refreshes are failing. */
export async function countTokenSets(db: Kysely<DB>): Promise<TokenSetCountRow[]> {
  const result = await sql<Omit<TokenSetCountRow, 'count'> & { count: string }>`SELECT * FROM vault_count_token_sets()`.execute(db)
  return result.rows.map((row) => ({ ...row, count: Number(row.count) }))
}

export interface PushBasisRow {
  active_version: number
  active_root_key_id: string
  active_wrapped_key: Uint8Array
  settings_server: string | null
  stored_id: string | null
  stored_write_id: string | null
  stored_key_version: number | null
  stored_issued_at: Date | null
  stored_refresh_token_sealed: Uint8Array | null
  stored_refresh_server: string | null
  stored_refresh_token_expires_at: Date | null
  stored_root_key_id: string | null
  stored_wrapped_key: Uint8Array | null
}

/** vault_find_push_bases: per connection, what a push's write depends on; undefined where the tenant has no active key. */
export async function findPushBases(db: Kysely<DB>, keys: readonly ConnectionRecord[]): Promise<(PushBasisRow | undefined)[]> {
  const result = await sql<PushBasisRow & { n: number }>`SELECT * FROM vault_find_push_bases(${records(keys)})`.execute(db)
  return byPosition(keys.length, result.rows)
}

interface WriteBasis extends ConnectionRecord {
  id: string
  /** The token set the write is based on; null: there was none, and the write is an insert. */
  expected_write_id: string | null
  expected_key_version: number | null
  /** Recorded with the write, in its transaction. */
  action: string
  client_id: string | null
  request_id: string
  caller_request_id: string | null
}

export interface TokenSetRowWrite {
  target: string | null
  issuer: string | null
  provider_subject: string | null
  token_type: string
  scope: string
  expires_at: Date | null
  issued_at: Date
  key_version: number
  write_id: string
  access_token_sealed: Uint8Array
  /** The stored refresh token and its server stay; refresh_token_sealed and refresh_server are ignored. */
  keep_refresh_token: boolean
  refresh_token_sealed: Uint8Array | null
  refresh_server: string | null
  refresh_token_expires_at: Date | null
  id_token_sealed: Uint8Array | null
  /** The new refresh token is bound to what the connector's settings name: written only while they name settings_server. */
  settings_server_expected: boolean
  settings_server: string | null
}

/** A write, or (write: false) only the event of a push that changes nothing. */
export type TokenSetWriteRecord = WriteBasis & ({ write: false } | ({ write: true } & TokenSetRowWrite))

export type WriteStatus = 'created' | 'updated' | 'ignored_stale' | 'changed' | 'locked'

/** Everything about a token set that may be shown: no sealed column. */
export type TokenSetMetadataRow = Pick<
  Selectable<TokenSetsTable>,
  | 'id'
  | 'tenant_id'
  | 'user_id'
  | 'connector_type'
  | 'connector_id'
  | 'target'
  | 'issuer'
  | 'provider_subject'
  | 'token_type'
  | 'scope'
  | 'expires_at'
  | 'state'
  | 'key_version'
  | 'issued_at'
  | 'created_at'
  | 'updated_at'
  | 'refresh_token_expires_at'
  | 'refresh_failures'
  | 'refresh_failing_since'
  | 'last_refresh_failure_at'
  | 'last_refresh_error'
  | 'next_refresh_at'
> & { has_refresh_token: boolean; has_id_token: boolean }

export type WriteResult =
  | { status: 'created' | 'updated' | 'ignored_stale'; row: TokenSetMetadataRow }
  | { status: 'changed' | 'locked'; row?: undefined }

/**
 * vault_write_token_sets: compare-and-swap writes, each with its audit event, in one transaction. Without
 * waitForLocks a record whose row another transaction holds answers `locked` instead of waiting.
 */
export async function writeTokenSets(
  db: Kysely<DB>,
  writes: readonly TokenSetWriteRecord[],
  { waitForLocks }: { waitForLocks: boolean },
): Promise<WriteResult[]> {
  const encoded = writes.map((w) =>
    w.write
      ? {
          ...w,
          expires_at: timestamp(w.expires_at),
          issued_at: timestamp(w.issued_at),
          refresh_token_expires_at: timestamp(w.refresh_token_expires_at),
          access_token_sealed: bytea(w.access_token_sealed),
          refresh_token_sealed: bytea(w.refresh_token_sealed),
          id_token_sealed: bytea(w.id_token_sealed),
        }
      : w,
  )
  type Row = Partial<TokenSetMetadataRow> & { n: number; status: WriteStatus }
  const result = await sql<Row>`SELECT * FROM vault_write_token_sets(${records(encoded)}, ${waitForLocks})`.execute(db)
  return byPosition(writes.length, result.rows).map((answer, position) => {
    if (answer === undefined) throw new Error(`vault_write_token_sets answered nothing for record ${position + 1}`)
    const { status, ...row } = answer
    return status === 'changed' || status === 'locked' ? { status } : { status, row: row as TokenSetMetadataRow }
  })
}

/**
 * vault_claim_mfa_attempt: counts one MFA attempt of a user before its code is checked; refused while the
 * user is locked out, with when the lock ends. (One user at a time: an attempt is one request.)
 */
export async function claimMfaAttempt(
  trx: Kysely<DB>,
  tenantId: string,
  userId: string,
  at: Date,
): Promise<{ allowed: true } | { allowed: false; lockedUntil: Date }> {
  const result = await sql<{ allowed: boolean; locked_until: Date | null }>`
    SELECT * FROM vault_claim_mfa_attempt(${tenantId}, ${userId}, ${timestamp(at)}::timestamptz)`.execute(trx)
  const row = result.rows[0]!
  return row.allowed ? { allowed: true } : { allowed: false, lockedUntil: new Date(row.locked_until!) }
}

/** vault_clear_mfa_attempts: a code was accepted; the user's attempts in a row start again. */
export async function clearMfaAttempts(trx: Kysely<DB>, tenantId: string, userId: string): Promise<void> {
  await sql`SELECT vault_clear_mfa_attempts(${tenantId}, ${userId})`.execute(trx)
}

/**
 * vault_emit_event, in the caller's transaction: an event the TypeScript side originates (connection events
 * come from the token_sets trigger). Its id, or null when no endpoint subscribes (nothing was stored).
 */
export async function emitEvent(
  trx: Kysely<DB>,
  event: { tenantId: string; type: string; data: Record<string, unknown>; endpointId?: string },
): Promise<string | null> {
  const result = await sql<{ id: string | null }>`
    SELECT vault_emit_event(${event.tenantId}, ${event.type}, ${JSON.stringify(event.data)}::jsonb, ${event.endpointId ?? null}::uuid) AS id`.execute(
    trx,
  )
  return result.rows[0]!.id
}

/** One claimed attempt of one delivery, with what it needs (vault_claim_webhook_deliveries). */
export interface ClaimedDeliveryRow {
  tenant_id: string
  id: string
  /** This attempt's number: the delivery is finished under it. */
  attempts: number
  /** By the attempting replicas' clocks: the retry period counts from here. */
  first_attempt_at: Date
  endpoint_id: string
  url: string
  event_types: string[]
  key_version: number
  secrets_sealed: Uint8Array
  root_key_id: string
  wrapped_key: Uint8Array
  event_id: string
  event_type: string
  event_data: Record<string, unknown>
  occurred_at: Date
}

/** vault_claim_webhook_deliveries: up to `limit` due deliveries across tenants, each leased for one attempt. */
export async function claimWebhookDeliveries(db: Kysely<DB>, at: Date, leaseSeconds: number, limit: number): Promise<ClaimedDeliveryRow[]> {
  const result = await sql<ClaimedDeliveryRow>`
    SELECT * FROM vault_claim_webhook_deliveries(${at}, ${leaseSeconds}, ${limit})`.execute(db)
  return result.rows
}

/** One claimed attempt of one queued revocation, with the data keys that open it (vault_claim_token_revocations). */
export interface ClaimedRevocationRow {
  tenant_id: string
  id: string
  attempts: number
  first_attempt_at: Date
  token_set_id: string
  user_id: string
  connector_type: ConnectorType
  connector_id: string
  reason: 'deleted' | 'replaced'
  token_key_version: number
  refresh_server: string | null
  refresh_token_sealed: Uint8Array
  token_endpoint: string | null
  issuer: string | null
  client_id: string
  client_auth_method: 'client_secret_basic' | 'client_secret_post' | 'none'
  extra_params: Record<string, string>
  revocation_endpoint: string | null
  revoke_tokens: boolean
  settings_key_version: number
  client_secret_sealed: Uint8Array
  token_root_key_id: string
  token_wrapped_key: Uint8Array
  settings_root_key_id: string
  settings_wrapped_key: Uint8Array
}

/** vault_claim_token_revocations: up to `limit` due revocations across tenants, each leased for one attempt. */
export async function claimTokenRevocations(
  db: Kysely<DB>,
  at: Date,
  leaseSeconds: number,
  limit: number,
): Promise<ClaimedRevocationRow[]> {
  const result = await sql<ClaimedRevocationRow>`
    SELECT * FROM vault_claim_token_revocations(${at}, ${leaseSeconds}, ${limit})`.execute(db)
  return result.rows
}

/** vault_prune_outbox: finished deliveries and their events from before `before`, across tenants; how many events. */
export async function pruneOutbox(db: Kysely<DB>, before: Date): Promise<number> {
  const result = await sql<{ pruned: string }>`SELECT vault_prune_outbox(${before}) AS pruned`.execute(db)
  return Number(result.rows[0]!.pruned)
}

/** vault_ensure_audit_partitions: the audit trail's months through `through`'s, those missing; how many were made. */
export async function ensureAuditPartitions(db: Kysely<DB>, through: Date): Promise<number> {
  const result = await sql<{ made: number }>`SELECT vault_ensure_audit_partitions(${through}) AS made`.execute(db)
  return result.rows[0]!.made
}

export interface DroppedAuditPartitionRow {
  partition_name: string
  range_start: Date
  range_end: Date
  /** Null for a month that held no event. */
  tenant_id: string | null
  events: string
}

/** vault_drop_audit_partitions: the months ending at or before `before`, per tenant; dropped unless `dryRun`. */
export async function dropAuditPartitions(db: Kysely<DB>, before: Date, dryRun: boolean): Promise<DroppedAuditPartitionRow[]> {
  const result = await sql<DroppedAuditPartitionRow>`SELECT * FROM vault_drop_audit_partitions(${before}, ${dryRun})`.execute(db)
  return result.rows
}

/**
 * vault_audit_tenants_to_seal: at most `limit` tenants with a data key and events after their last digest,
 * up to `through`. The sealer reads where each tenant's last digest ended again, under the tenant's lock.
 */
export async function auditTenantsToSeal(db: Kysely<DB>, limit: number, through: string): Promise<string[]> {
  const result = await sql<{ tenant_id: string }>`SELECT tenant_id FROM vault_audit_tenants_to_seal(${limit}, ${through}::bigint)`.execute(
    db,
  )
  return result.rows.map((row) => row.tenant_id)
}
