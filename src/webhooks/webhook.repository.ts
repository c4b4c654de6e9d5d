import { type Selectable, sql } from 'kysely'
import type { WebhookDeliveriesTable, WebhookDeliveryState, WebhookEndpointsTable } from '../db/schema.ts'
import type { TenantTransaction } from '../db/tenant-scope.ts'
import { type WrappedDataKey, withDataKey } from '../keys/data-key.repository.ts'

export type WebhookEndpointRow = Omit<Selectable<WebhookEndpointsTable>, 'secrets_sealed'>

const columnNames = ['tenant_id', 'id', 'url', 'event_types', 'description', 'key_version', 'created_at', 'updated_at'] as const
const endpointColumns = columnNames.map((column) => `we.${column}` as const)

export async function insertEndpoint(
  trx: TenantTransaction,
  row: Pick<WebhookEndpointsTable, 'tenant_id' | 'id' | 'url' | 'event_types' | 'description' | 'key_version' | 'secrets_sealed'>,
): Promise<WebhookEndpointRow> {
  return trx.insertInto('webhook_endpoints').values(row).returning(columnNames).executeTakeFirstOrThrow()
}

export async function listEndpoints(trx: TenantTransaction, tenantId: string): Promise<WebhookEndpointRow[]> {
  return trx
    .selectFrom('webhook_endpoints as we')
    .select(endpointColumns)
    .where('we.tenant_id', '=', tenantId)
    .orderBy('we.created_at')
    .execute()
}

export async function findEndpoint(trx: TenantTransaction, tenantId: string, id: string): Promise<WebhookEndpointRow | undefined> {
  return trx
    .selectFrom('webhook_endpoints as we')
    .select(endpointColumns)
    .where('we.tenant_id', '=', tenantId)
    .where('we.id', '=', id)
    .executeTakeFirst()
}

/** Held for the rest of the transaction (a rotation takes turns), with its sealed secrets and their data key. */
export async function lockEndpointWithSecrets(
  trx: TenantTransaction,
  tenantId: string,
  id: string,
): Promise<(WebhookEndpointRow & { secrets_sealed: Uint8Array; dataKey: WrappedDataKey }) | undefined> {
  const row = await trx
    .selectFrom('webhook_endpoints as we')
    .innerJoin('data_keys as dk', (join) => join.onRef('dk.tenant_id', '=', 'we.tenant_id').onRef('dk.version', '=', 'we.key_version'))
    .select([...endpointColumns, 'we.secrets_sealed', 'dk.root_key_id', 'dk.wrapped_key'])
    .where('we.tenant_id', '=', tenantId)
    .where('we.id', '=', id)
    .forUpdate('we')
    .executeTakeFirst()
  return row && withDataKey(row)
}

export async function updateEndpointSecrets(
  trx: TenantTransaction,
  tenantId: string,
  id: string,
  write: { key_version: number; secrets_sealed: Buffer },
): Promise<WebhookEndpointRow> {
  return trx
    .updateTable('webhook_endpoints')
    .set({ ...write, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .returning(columnNames)
    .executeTakeFirstOrThrow()
}

export async function deleteEndpoint(trx: TenantTransaction, tenantId: string, id: string): Promise<number> {
  const result = await trx.deleteFrom('webhook_endpoints').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst()
  return Number(result.numDeletedRows)
}

export type WebhookDeliveryRow = Omit<
  Selectable<WebhookDeliveriesTable>,
  'tenant_id' | 'endpoint_id' | 'lease_until' | 'first_attempt_at'
> & {
  event_type: string
}

/** An endpoint's deliveries, newest first. */
export async function listDeliveries(
  trx: TenantTransaction,
  tenantId: string,
  endpointId: string,
  filter: { state: WebhookDeliveryState | undefined; limit: number },
): Promise<WebhookDeliveryRow[]> {
  let query = trx
    .selectFrom('webhook_deliveries as wd')
    .innerJoin('events as ev', (join) => join.onRef('ev.tenant_id', '=', 'wd.tenant_id').onRef('ev.id', '=', 'wd.event_id'))
    .select([
      'wd.id',
      'wd.event_id',
      'ev.type as event_type',
      'wd.state',
      'wd.attempts',
      'wd.next_attempt_at',
      'wd.last_attempt_at',
      'wd.last_status',
      'wd.last_error',
      'wd.delivered_at',
      'wd.created_at',
    ])
    .where('wd.tenant_id', '=', tenantId)
    .where('wd.endpoint_id', '=', endpointId)
  if (filter.state !== undefined) query = query.where('wd.state', '=', filter.state)
  return query.orderBy('wd.created_at', 'desc').orderBy('wd.id').limit(filter.limit).execute()
}

/** How one attempt ended, written under its attempt number: an attempt that outlived its lease changes nothing. */
export type AttemptResult =
  | { state: 'delivered'; status: number; at: Date }
  | { state: 'pending'; status: number | null; error: string; at: Date; nextAttemptAt: Date }
  | { state: 'dead'; status: number | null; error: string; at: Date }

export async function finishAttempt(
  trx: TenantTransaction,
  delivery: { tenantId: string; id: string; attempt: number },
  result: AttemptResult,
): Promise<boolean> {
  const outcome = await trx
    .updateTable('webhook_deliveries')
    .set({
      state: result.state,
      lease_until: null,
      last_status: result.status,
      last_error: result.state === 'delivered' ? null : result.error,
      delivered_at: result.state === 'delivered' ? result.at : null,
      ...(result.state === 'pending' ? { next_attempt_at: result.nextAttemptAt } : {}),
    })
    .where('tenant_id', '=', delivery.tenantId)
    .where('id', '=', delivery.id)
    .where('attempts', '=', delivery.attempt)
    .where('state', '=', 'pending')
    .executeTakeFirst()
  return Number(outcome.numUpdatedRows) === 1
}
