import { sql } from 'kysely'
import { CONNECTOR_CLIENT_SECRET } from '../crypto/connector-secret-sealing.ts'
import { AUDIT_DIGEST, MFA_FACTOR, type RecordKind, USER_SECRET, WEBHOOK_SIGNING_SECRETS } from '../crypto/record-binding.ts'
import type { OperatorTransaction } from '../db/tenant-scope.ts'

/**
 * Every table that holds one sealed secret per row under a tenant's data key, beside token sets (which
 * hold three and move in their own batched path). The key lifecycle treats them alike: `keys status`
 * counts them, `keys reencrypt` moves them, `keys destroy` refuses while one needs a version, `keys verify`
 * opens them, `tenants shred` erases them. A new kind of secret is one more entry here.
 */
export interface SealedRecordTable {
  /** How reports and commands name them. */
  readonly name: 'connector_secrets' | 'user_secrets' | 'mfa_factors' | 'webhook_secrets' | 'audit_digests'
  readonly table: 'connector_refresh_settings' | 'user_secrets' | 'mfa_factors' | 'webhook_endpoints' | 'audit_digests'
  /** The primary key after tenant_id. */
  readonly key: readonly string[]
  readonly sealedColumn: string
  // biome-ignore lint/suspicious/noExplicitAny: each kind binds its own table's row, read whole
  readonly kind: RecordKind<any>
  /** The field verify reports a failure on. */
  readonly field: 'client_secret' | 'value' | 'secret' | 'signing_secrets' | 'digest'
  /** How verify names a row: its ids, never a secret. */
  id(row: SealedRow): string
}

export type SealedRow = Record<string, unknown> & { tenant_id: string; key_version: number }

export const SEALED_RECORD_TABLES: readonly SealedRecordTable[] = [
  {
    name: 'connector_secrets',
    table: 'connector_refresh_settings',
    key: ['connector_type', 'connector_id'],
    sealedColumn: 'client_secret_sealed',
    kind: CONNECTOR_CLIENT_SECRET,
    field: 'client_secret',
    id: (row) => `connector:${row.connector_type}/${row.connector_id}`,
  },
  {
    name: 'user_secrets',
    table: 'user_secrets',
    key: ['user_id', 'name'],
    sealedColumn: 'value_sealed',
    kind: USER_SECRET,
    field: 'value',
    id: (row) => `user_secret:${row.user_id}/${row.name}`,
  },
  {
    name: 'mfa_factors',
    table: 'mfa_factors',
    key: ['id'],
    sealedColumn: 'secret_sealed',
    kind: MFA_FACTOR,
    field: 'secret',
    id: (row) => `mfa_factor:${row.id}`,
  },
  {
    name: 'webhook_secrets',
    table: 'webhook_endpoints',
    key: ['id'],
    sealedColumn: 'secrets_sealed',
    kind: WEBHOOK_SIGNING_SECRETS,
    field: 'signing_secrets',
    id: (row) => `webhook:${row.id}`,
  },
  {
    // Not a secret, a MAC: the seal of an audit digest opens to nothing. Moving it to a new key version
    // checks it first, so a forged digest is never re-sealed into looking genuine.
    name: 'audit_digests',
    table: 'audit_digests',
    key: ['number'],
    sealedColumn: 'seal',
    kind: AUDIT_DIGEST,
    field: 'digest',
    id: (row) => `audit_digest:${row.number}`,
  },
]

/** No row of any kind: where a count starts. */
export function noSealedRecords(): Record<SealedRecordTable['name'], number> {
  return Object.fromEntries(SEALED_RECORD_TABLES.map(({ name }) => [name, 0])) as Record<SealedRecordTable['name'], number>
}

const tenantFilter = (alias: string, tenantId: string | undefined) =>
  tenantId === undefined ? sql`` : sql`AND ${sql.ref(`${alias}.tenant_id`)} = ${tenantId}`

/** How many of each kind are sealed under one data-key version. */
export async function countSealedUnder(
  trx: OperatorTransaction,
  tenantId: string,
  version: number,
): Promise<Record<SealedRecordTable['name'], number>> {
  const counts = {} as Record<SealedRecordTable['name'], number>
  for (const { name, table } of SEALED_RECORD_TABLES) {
    const result = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${sql.table(table)} WHERE tenant_id = ${tenantId} AND key_version = ${version}`.execute(trx)
    counts[name] = result.rows[0]!.n
  }
  return counts
}

/** How many of each kind every data-key version protects, keyed `tenant/version`. */
export async function countSealedByVersion(
  trx: OperatorTransaction,
  tenantId: string | undefined,
): Promise<Map<string, Record<SealedRecordTable['name'], number>>> {
  const counts = new Map<string, Record<SealedRecordTable['name'], number>>()
  for (const { name, table } of SEALED_RECORD_TABLES) {
    const result = await sql<{ tenant_id: string; key_version: number; n: number }>`
      SELECT r.tenant_id, r.key_version, count(*)::int AS n FROM ${sql.table(table)} r
      WHERE true ${tenantFilter('r', tenantId)} GROUP BY 1, 2`.execute(trx)
    for (const row of result.rows) {
      const at = `${row.tenant_id}/${row.key_version}`
      const entry = counts.get(at) ?? noSealedRecords()
      entry[name] = row.n
      counts.set(at, entry)
    }
  }
  return counts
}

/** Rows of every kind not on their tenant's active data key: the work `keys reencrypt` has left. */
export async function countSealedToReencrypt(trx: OperatorTransaction, tenantId: string | undefined): Promise<number> {
  let total = 0
  for (const { table } of SEALED_RECORD_TABLES) {
    const result = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${sql.table(table)} r
      JOIN data_keys act ON act.tenant_id = r.tenant_id AND act.state = 'active'
      WHERE r.key_version <> act.version ${tenantFilter('r', tenantId)}`.execute(trx)
    total += result.rows[0]!.n
  }
  return total
}

/** Up to `limit` rows of one kind not on their tenant's active key, held for the transaction (others' skipped). */
export async function lockSealedToReencrypt(
  trx: OperatorTransaction,
  { table, key }: SealedRecordTable,
  tenantId: string | undefined,
  limit: number,
): Promise<SealedRow[]> {
  const result = await sql<SealedRow>`
    SELECT r.* FROM ${sql.table(table)} r
    JOIN data_keys act ON act.tenant_id = r.tenant_id AND act.state = 'active'
    WHERE r.key_version <> act.version ${tenantFilter('r', tenantId)}
    ORDER BY r.tenant_id, ${sql.join(key.map((column) => sql.ref(`r.${column}`)))}
    LIMIT ${limit}
    FOR UPDATE OF r SKIP LOCKED`.execute(trx)
  return result.rows
}

/** Compare-and-swap on the version it was sealed under; the number of rows written (0 or 1). */
export async function updateResealed(
  trx: OperatorTransaction,
  { table, key, sealedColumn }: SealedRecordTable,
  row: SealedRow,
  version: number,
  sealed: Uint8Array,
): Promise<number> {
  const result = await sql`
    UPDATE ${sql.table(table)} SET key_version = ${version}, ${sql.ref(sealedColumn)} = ${sealed}
    WHERE tenant_id = ${row.tenant_id} AND key_version = ${row.key_version}
      ${sql.join(
        key.map((column) => sql`AND ${sql.ref(column)} = ${row[column]}`),
        sql` `,
      )}`.execute(trx)
  return Number(result.numAffectedRows ?? 0)
}

/** One page of one kind's rows, in key order after `after`, each with the wrapped data key that opens it. */
export async function findSealedToVerify(
  trx: OperatorTransaction,
  { table, key }: SealedRecordTable,
  page: { tenantId: string | undefined; after: SealedRow | undefined; limit: number },
): Promise<Array<SealedRow & { root_key_id: string; wrapped_key: Uint8Array }>> {
  const columns = ['tenant_id', ...key]
  const ordered = sql.join(columns.map((column) => sql.ref(`r.${column}`)))
  const after = page.after === undefined ? sql`` : sql`AND (${ordered}) > (${sql.join(columns.map((column) => page.after![column]))})`
  const result = await sql<SealedRow & { root_key_id: string; wrapped_key: Uint8Array }>`
    SELECT r.*, dk.root_key_id, dk.wrapped_key
    FROM ${sql.table(table)} r JOIN data_keys dk ON dk.tenant_id = r.tenant_id AND dk.version = r.key_version
    WHERE true ${tenantFilter('r', page.tenantId)} ${after}
    ORDER BY ${ordered}
    LIMIT ${page.limit}`.execute(trx)
  return result.rows
}

/** Deletes one kind's rows of a tenant (a shred); how many. */
export async function deleteSealedOfTenant(trx: OperatorTransaction, { table }: SealedRecordTable, tenantId: string): Promise<number> {
  const result = await sql`DELETE FROM ${sql.table(table)} WHERE tenant_id = ${tenantId}`.execute(trx)
  return Number(result.numAffectedRows ?? 0)
}
