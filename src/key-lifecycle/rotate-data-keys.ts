import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import { findActiveDataKey } from '../keys/data-key.repository.ts'
import type { KeyProvider } from '../keys/key-provider.ts'
import { recordKeyOperation } from './key-events.ts'
import { insertDataKey, retireDataKey } from './key-lifecycle.repository.ts'

export interface RotationResult {
  tenantId: string
  from: number
  to: number
}

/**
 * Gives a tenant a new active data key; the old one becomes decrypt-only. No token set is touched: pushes
 * move sets to the new key on their next write, `keys reencrypt` moves the rest.
 */
export async function rotateDataKey(db: Kysely<DB>, provider: KeyProvider, tenantId: string): Promise<RotationResult | undefined> {
  return inOperatorTransaction(db, async (trx) => {
    const active = await findActiveDataKey(trx, tenantId, { lock: true })
    if (active === undefined) return undefined
    const version = active.version + 1
    const generated = await provider.generateDataKey({ tenantId, version })
    await retireDataKey(trx, tenantId, active.version)
    await insertDataKey(trx, { tenantId, version, rootKeyId: generated.rootKeyId, wrappedKey: generated.wrapped })
    await recordKeyOperation(trx, { tenantId, action: 'key.rotate', keyVersion: version, requestId: randomUUID() })
    return { tenantId, from: active.version, to: version }
  })
}
