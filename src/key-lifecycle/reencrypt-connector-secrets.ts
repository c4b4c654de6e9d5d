import type { Kysely } from 'kysely'
import { resealClientSecret, settingsBindingOf } from '../crypto/connector-secret-sealing.ts'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { findDataKey, lockConnectorSecretsToReencrypt, updateReencryptedConnectorSecret } from './key-lifecycle.repository.ts'

const PAGE = 200

/**
 * Moves connector client secrets to their tenant's active data key, a page per transaction, with the same
 * guarantees as token sets: resumable (the work left is "not on the active version"), compare-and-swap on
 * the version, nothing re-sealed from input that does not open. There is one row per connector, so pages
 * are small and few.
 */
export async function reencryptConnectorSecrets(
  db: Kysely<DB>,
  keyRing: DataKeyRing,
  options: { tenantId: string | undefined; signal: AbortSignal },
): Promise<{ done: number; tenants: Set<string> }> {
  let done = 0
  const tenants = new Set<string>()
  while (!options.signal.aborted) {
    const moved = await inOperatorTransaction(db, async (trx) => {
      const rows = await lockConnectorSecretsToReencrypt(trx, options.tenantId, PAGE)
      let count = 0
      for (const row of rows) {
        const [oldKey, activeKey] = await Promise.all([
          findDataKey(trx, row.tenant_id, row.key_version),
          findDataKey(trx, row.tenant_id, 'active'),
        ])
        if (oldKey === undefined || activeKey === undefined) throw new Error(`data keys of ${row.tenant_id} vanished during re-encryption`)
        const to = { version: activeKey.version, key: await keyRing.unwrap(activeKey) }
        const location = { tenantId: row.tenant_id, connectorType: row.connector_type, connectorId: row.connector_id }
        // The settings are re-bound as they are: a row whose settings were changed behind the vault's back
        // does not open, and is never re-sealed into looking genuine.
        const sealed = resealClientSecret(
          { version: oldKey.version, key: await keyRing.unwrap(oldKey) },
          to,
          location,
          settingsBindingOf(row),
          row.client_secret_sealed,
        )
        count += await updateReencryptedConnectorSecret(trx, row, to.version, sealed)
        tenants.add(row.tenant_id)
      }
      return { count, fetched: rows.length }
    })
    done += moved.count
    if (moved.fetched < PAGE) break
  }
  return { done, tenants }
}
