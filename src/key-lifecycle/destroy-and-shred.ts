import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import { recordKeyOperation } from './key-events.ts'
import { deleteDataKey, deleteTenant, lockDataKeyState, rowsSealedUnder, type ShredResult } from './key-lifecycle.repository.ts'

export type DestroyOutcome =
  | { destroyed: true }
  | {
      destroyed: false
      reason: 'not_found' | 'active' | 'in_use'
      tokenSets?: number
      connectorSecrets?: number
      userSecrets?: number
      mfaFactors?: number
      webhookEndpoints?: number
      auditDigests?: number
      queuedRevocations?: number
    }

/**
 * Destroys a decrypt-only data-key version that no token set or other sealed record (sealed-records.ts)
 * uses. The check here gives a clear message; the foreign keys (ON DELETE RESTRICT) make the database
 * refuse too, even against a concurrent write.
 */
export async function destroyDataKey(db: Kysely<DB>, tenantId: string, version: number): Promise<DestroyOutcome> {
  return inOperatorTransaction(db, async (trx) => {
    const state = await lockDataKeyState(trx, tenantId, version)
    if (state === undefined) return { destroyed: false, reason: 'not_found' }
    if (state === 'active') return { destroyed: false, reason: 'active' }
    const inUse = await rowsSealedUnder(trx, tenantId, version)
    if (Object.values(inUse).some((count) => count > 0)) {
      return {
        destroyed: false,
        reason: 'in_use',
        tokenSets: inUse.tokenSets,
        connectorSecrets: inUse.connector_secrets,
        userSecrets: inUse.user_secrets,
        mfaFactors: inUse.mfa_factors,
        webhookEndpoints: inUse.webhook_secrets,
        auditDigests: inUse.audit_digests,
        queuedRevocations: inUse.queuedRevocations,
      }
    }
    await deleteDataKey(trx, tenantId, version)
    await recordKeyOperation(trx, { tenantId, action: 'key.destroy', keyVersion: version, requestId: randomUUID() })
    return { destroyed: true }
  })
}

export type { ShredResult }

/**
 * Crypto-shreds a tenant: its token sets, its connectors' client secrets, its users' secrets and MFA
 * factors, its webhook endpoints and undelivered events, and every data key that could open them are deleted together. The audit trail keeps the
 * record of it.
 */
export async function shredTenant(db: Kysely<DB>, tenantId: string): Promise<ShredResult> {
  return inOperatorTransaction(db, async (trx) => {
    const shredded = await deleteTenant(trx, tenantId)
    await recordKeyOperation(trx, { tenantId, action: 'tenant.shred', keyVersion: null, requestId: randomUUID() })
    return shredded
  })
}
