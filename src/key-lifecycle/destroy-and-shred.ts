import { randomUUID } from 'node:crypto'
import { type Kysely, sql } from 'kysely'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import { recordKeyOperation } from './key-events.ts'

export type DestroyOutcome =
  | { destroyed: true }
  | { destroyed: false; reason: 'not_found' | 'active' | 'in_use'; tokenSets?: number; connectorSecrets?: number }

/**
 * Destroys a decrypt-only data-key version that no token set or connector client secret uses. The check here gives a clear message;
 * the foreign key (ON DELETE RESTRICT) makes the database refuse too, even against a concurrent push.
 */
export async function destroyDataKey(db: Kysely<DB>, tenantId: string, version: number): Promise<DestroyOutcome> {
  return inOperatorTransaction(db, async (trx) => {
    const key = await trx
      .selectFrom('data_keys')
      .select('state')
      .where('tenant_id', '=', tenantId)
      .where('version', '=', version)
      .forUpdate()
      .executeTakeFirst()
    if (key === undefined) return { destroyed: false, reason: 'not_found' }
    if (key.state === 'active') return { destroyed: false, reason: 'active' }
    const inUse = await trx
      .selectFrom('token_sets')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('tenant_id', '=', tenantId)
      .where('key_version', '=', version)
      .executeTakeFirstOrThrow()
    const connectorsInUse = await trx
      .selectFrom('connector_refresh_settings')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('tenant_id', '=', tenantId)
      .where('key_version', '=', version)
      .executeTakeFirstOrThrow()
    if (inUse.n > 0 || connectorsInUse.n > 0) {
      return { destroyed: false, reason: 'in_use', tokenSets: inUse.n, connectorSecrets: connectorsInUse.n }
    }
    await trx.deleteFrom('data_keys').where('tenant_id', '=', tenantId).where('version', '=', version).execute()
    await recordKeyOperation(trx, { tenantId, action: 'key.destroy', keyVersion: version, requestId: randomUUID() })
    return { destroyed: true }
  })
}

export interface ShredResult {
  tokenSets: number
  connectorSettings: number
  dataKeys: number
  tenant: boolean
}

/**
 * Crypto-shreds a tenant: its token sets, its connectors' client secrets and every data key that could
 * open them are deleted together. The audit trail keeps the record of it.
 */
export async function shredTenant(db: Kysely<DB>, tenantId: string): Promise<ShredResult> {
  return inOperatorTransaction(db, async (trx) => {
    const tokenSets = await trx.deleteFrom('token_sets').where('tenant_id', '=', tenantId).executeTakeFirst()
    const connectorSettings = await trx.deleteFrom('connector_refresh_settings').where('tenant_id', '=', tenantId).executeTakeFirst()
    const dataKeys = await trx.deleteFrom('data_keys').where('tenant_id', '=', tenantId).executeTakeFirst()
    const tenant = await trx.deleteFrom('tenants').where('tenant_id', '=', tenantId).executeTakeFirst()
    await recordKeyOperation(trx, { tenantId, action: 'tenant.shred', keyVersion: null, requestId: randomUUID() })
    return {
      tokenSets: Number(tokenSets.numDeletedRows),
      connectorSettings: Number(connectorSettings.numDeletedRows),
      dataKeys: Number(dataKeys.numDeletedRows),
      tenant: Number(tenant.numDeletedRows) === 1,
    }
  })
}
