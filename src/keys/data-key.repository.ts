import { sql } from 'kysely'
import type { TenantTransaction } from '../db/tenant-scope.ts'

export interface WrappedDataKey {
  tenantId: string
  version: number
  rootKeyId: string
  wrappedKey: Uint8Array
}

/**
 * A row read joined to its data key (selecting `dk.root_key_id` and `dk.wrapped_key`): the row, and the
 * wrapped key that opens its sealed secret.
 */
export function withDataKey<Row extends { tenant_id: string; key_version: number; root_key_id: string; wrapped_key: Uint8Array }>(
  row: Row,
): Omit<Row, 'root_key_id' | 'wrapped_key'> & { dataKey: WrappedDataKey } {
  const { root_key_id, wrapped_key, ...rest } = row
  return { ...rest, dataKey: { tenantId: row.tenant_id, version: row.key_version, rootKeyId: root_key_id, wrappedKey: wrapped_key } }
}

/** The tenant's active data key; `lock` holds it for the transaction, so two rotations serialise. */
export async function findActiveDataKey(
  trx: TenantTransaction,
  tenantId: string,
  options: { lock?: boolean } = {},
): Promise<WrappedDataKey | undefined> {
  const query = trx
    .selectFrom('data_keys')
    .select(['tenant_id', 'version', 'root_key_id', 'wrapped_key'])
    .where('tenant_id', '=', tenantId)
    .where('state', '=', 'active')
  const row = await (options.lock === true ? query.forUpdate() : query).executeTakeFirst()
  return row && { tenantId: row.tenant_id, version: row.version, rootKeyId: row.root_key_id, wrappedKey: row.wrapped_key }
}

export async function nextDataKeyVersion(trx: TenantTransaction, tenantId: string): Promise<number> {
  const row = await trx
    .selectFrom('data_keys')
    .select(sql<number>`coalesce(max(version), 0) + 1`.as('next'))
    .where('tenant_id', '=', tenantId)
    .executeTakeFirstOrThrow()
  return row.next
}

/**
 * Inserts the tenant (if new) and its first active data key. Returns false when another transaction won
 * the race: the unique index on the active key turns the loser's insert into a no-op.
 */
export async function insertActiveDataKey(trx: TenantTransaction, key: WrappedDataKey): Promise<boolean> {
  await trx
    .insertInto('tenants')
    .values({ tenant_id: key.tenantId })
    .onConflict((c) => c.doNothing())
    .execute()
  const inserted = await trx
    .insertInto('data_keys')
    .values({
      tenant_id: key.tenantId,
      version: key.version,
      state: 'active',
      root_key_id: key.rootKeyId,
      wrapped_key: Buffer.from(key.wrappedKey),
    })
    .onConflict((c) => c.doNothing())
    .returning('version')
    .executeTakeFirst()
  return inserted !== undefined
}
