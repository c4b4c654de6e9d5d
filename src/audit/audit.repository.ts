import { type Insertable, type Selectable, sql } from 'kysely'
import type { AuditEventsTable } from '../db/schema.ts'
import type { OperatorTransaction, TenantTransaction } from '../db/tenant-scope.ts'
import type { AuditQuery } from './audit.schemas.ts'

export type AuditEventInsert = Insertable<AuditEventsTable>

/** Who asked: recorded with the event of whatever a request changed or read. */
export interface AuditContext {
  /** The vault's own id of the request. */
  requestId: string
  clientId: string | null
  /** The caller's x-request-id, when it sent a well-formed one: recorded beside requestId, never instead. */
  callerRequestId?: string | null
}

export async function insertAuditEvent(trx: TenantTransaction, event: AuditEventInsert): Promise<void> {
  await trx.insertInto('audit_events').values(event).execute()
}

export async function findAuditEvents(
  trx: TenantTransaction,
  tenantId: string,
  query: Omit<AuditQuery, 'cursor'> & { beforeId: string | undefined },
) {
  let select = trx
    .selectFrom('audit_events')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('id', 'desc')
    .limit(query.limit + 1)
  if (query.user_id !== undefined) select = select.where('user_id', '=', query.user_id)
  if (query.connector_type !== undefined) select = select.where('connector_type', '=', query.connector_type)
  if (query.connector_id !== undefined) select = select.where('connector_id', '=', query.connector_id)
  if (query.action !== undefined) select = select.where('action', '=', query.action)
  if (query.outcome !== undefined) select = select.where('outcome', '=', query.outcome)
  if (query.since !== undefined) select = select.where('occurred_at', '>=', new Date(query.since))
  if (query.until !== undefined) select = select.where('occurred_at', '<', new Date(query.until))
  if (query.beforeId !== undefined) select = select.where('id', '<', query.beforeId)
  return select.execute()
}

export type AuditEventRow = Selectable<AuditEventsTable>

/**
 * A tenant's events after `afterId`, in id order, at most `limit` (the primary key serves it), each saying
 * whether it is newer than `horizon`: an export stops at the first such one (see audit-export.ts).
 */
export async function findAuditEventsAfter(
  trx: OperatorTransaction,
  page: { tenantId: string; afterId: string | undefined; limit: number; horizon: Date },
): Promise<Array<AuditEventRow & { unsettled: boolean }>> {
  let select = trx
    .selectFrom('audit_events')
    .selectAll()
    .select(sql<boolean>`occurred_at >= ${page.horizon}`.as('unsettled'))
    .where('tenant_id', '=', page.tenantId)
    .orderBy('id')
    .limit(page.limit)
  if (page.afterId !== undefined) select = select.where('id', '>', page.afterId)
  return select.execute()
}

/** How many of a tenant's events lie after `afterId` (an export's progress total). */
export async function countAuditEventsAfter(trx: OperatorTransaction, tenantId: string, afterId: string | undefined): Promise<number> {
  let select = trx.selectFrom('audit_events').select(sql<string>`count(*)`.as('n')).where('tenant_id', '=', tenantId)
  if (afterId !== undefined) select = select.where('id', '>', afterId)
  return Number((await select.executeTakeFirstOrThrow()).n)
}

/** The database's clock, less `settleMs`: events recorded before it belong to transactions that have ended. */
export async function settledHorizon(trx: OperatorTransaction, settleMs: number): Promise<Date> {
  const result = await sql<{ horizon: Date }>`SELECT now() - make_interval(secs => ${settleMs / 1000}) AS horizon`.execute(trx)
  return result.rows[0]!.horizon
}

/** Every tenant that has audit events, in order: a skip scan of the primary key, one probe per tenant. */
export async function tenantsWithAuditEvents(trx: OperatorTransaction): Promise<string[]> {
  const result = await sql<{ tenant_id: string }>`
    WITH RECURSIVE walk AS (
      (SELECT tenant_id FROM audit_events ORDER BY tenant_id LIMIT 1)
      UNION ALL
      SELECT (SELECT e.tenant_id FROM audit_events e WHERE e.tenant_id > walk.tenant_id ORDER BY e.tenant_id LIMIT 1)
      FROM walk WHERE walk.tenant_id IS NOT NULL)
    SELECT tenant_id FROM walk WHERE tenant_id IS NOT NULL`.execute(trx)
  return result.rows.map((row) => row.tenant_id)
}
