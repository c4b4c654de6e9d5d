import type { Insertable } from 'kysely'
import type { AuditEventsTable } from '../db/schema.ts'
import type { TenantTransaction } from '../db/tenant-scope.ts'
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
