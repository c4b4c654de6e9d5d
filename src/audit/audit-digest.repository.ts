import { type Kysely, type Selectable, sql } from 'kysely'
import type { AuditDigestsTable, DB } from '../db/schema.ts'
import type { OperatorTransaction, TenantTransaction } from '../db/tenant-scope.ts'
import type { SealedEvent } from './audit-entries.ts'

export type AuditDigestRow = Selectable<AuditDigestsTable>

/** Stores a digest under its number; false when another replica stored that number first. */
export async function insertAuditDigest(trx: TenantTransaction | OperatorTransaction, row: AuditDigestRow): Promise<boolean> {
  const inserted = await trx
    .insertInto('audit_digests')
    .values(row)
    .onConflict((oc) => oc.columns(['tenant_id', 'number']).doNothing())
    .returning('number')
    .executeTakeFirst()
  return inserted !== undefined
}

/** The last digest's number and the id it sealed through (0 and 0: none). */
export async function lastAuditDigest(
  trx: TenantTransaction | OperatorTransaction,
  tenantId: string,
): Promise<{ number: number; throughId: string }> {
  const row = await trx
    .selectFrom('audit_digests')
    .select(['number', 'through_id'])
    .where('tenant_id', '=', tenantId)
    .orderBy('number', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row === undefined ? { number: 0, throughId: '0' } : { number: Number(row.number), throughId: String(row.through_id) }
}

/** One page of a tenant's digests in number order, each with the wrapped data key that opens it. */
export async function findAuditDigests(
  trx: OperatorTransaction,
  page: { tenantId: string; afterNumber: number; limit: number },
): Promise<Array<AuditDigestRow & { root_key_id: string; wrapped_key: Uint8Array }>> {
  // An inner join loses nothing: the composite foreign key keeps a digest's data key while it exists.
  return trx
    .selectFrom('audit_digests as d')
    .innerJoin('data_keys as dk', (join) => join.onRef('dk.tenant_id', '=', 'd.tenant_id').onRef('dk.version', '=', 'd.key_version'))
    .selectAll('d')
    .select(['dk.root_key_id', 'dk.wrapped_key'])
    .where('d.tenant_id', '=', page.tenantId)
    .where('d.number', '>', String(page.afterNumber))
    .orderBy('d.number')
    .limit(page.limit)
    .execute()
}

/** A tenant's events with ids in (afterId, throughId], in id order, at most `limit`, as a digest covers them. */
export async function findEventsToSeal(
  trx: TenantTransaction | OperatorTransaction,
  page: { tenantId: string; afterId: string; throughId: string; limit: number },
): Promise<SealedEvent[]> {
  const rows = await trx
    .selectFrom('audit_events')
    .select([
      'tenant_id',
      'id',
      'client_id',
      'action',
      'outcome',
      'error_code',
      'user_id',
      'connector_type',
      'connector_id',
      'request_id',
      'caller_request_id',
      'key_version',
    ])
    .select(sql<string>`((extract(epoch FROM occurred_at) * 1000000)::bigint)::text`.as('occurred_us'))
    .where('tenant_id', '=', page.tenantId)
    .where('id', '>', page.afterId)
    .where('id', '<=', page.throughId)
    .orderBy('id')
    .limit(page.limit)
    .execute()
  return rows.map((row) => ({ ...row, id: String(row.id) }))
}

/** How many of a tenant's events lie after `afterId`: what no digest covers yet. */
export async function countEventsAfter(trx: OperatorTransaction, tenantId: string, afterId: string): Promise<number> {
  const row = await trx
    .selectFrom('audit_events')
    .select(sql<string>`count(*)`.as('n'))
    .where('tenant_id', '=', tenantId)
    .where('id', '>', afterId)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** How far audit event ids have been drawn: every id at or below it is drawn (and maybe not committed yet). */
export async function auditIdsDrawn(db: Kysely<DB>): Promise<string> {
  const result = await sql<{ drawn: string }>`
    SELECT (CASE WHEN is_called THEN last_value ELSE last_value - 1 END)::text AS drawn FROM audit_events_id_seq`.execute(db)
  return result.rows[0]!.drawn
}

/** This instant's transaction horizon: every transaction below xmin has ended; none at or above xmax had begun. */
export async function transactionHorizon(db: Kysely<DB>): Promise<{ xmin: bigint; xmax: bigint }> {
  const result = await sql<{ xmin: string; xmax: string }>`
    SELECT pg_snapshot_xmin(s)::text AS xmin, pg_snapshot_xmax(s)::text AS xmax FROM pg_current_snapshot() AS s`.execute(db)
  return { xmin: BigInt(result.rows[0]!.xmin), xmax: BigInt(result.rows[0]!.xmax) }
}
