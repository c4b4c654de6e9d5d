import type { Kysely } from 'kysely'
import { openRecord, sealRecord } from '../crypto/record-binding.ts'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { findDataKey } from './key-lifecycle.repository.ts'
import { lockSealedToReencrypt, SEALED_RECORD_TABLES, type SealedRecordTable, updateResealed } from './sealed-records.ts'

const PAGE = 200

/**
 * Moves every kind of sealed record (connector client secrets, users' secrets, MFA factors) to its tenant's
 * active data key, a page per transaction, with the same guarantees as token sets: resumable (the work
 * left is "not on the active version"), compare-and-swap on the version, nothing re-sealed from input that
 * does not open. Rows are few per tenant next to token sets, so pages are small and few.
 */
export async function reencryptSealedRecords(
  db: Kysely<DB>,
  keyRing: DataKeyRing,
  options: { tenantId: string | undefined; signal: AbortSignal },
): Promise<{ done: number; tenants: Set<string> }> {
  let done = 0
  const tenants = new Set<string>()
  for (const table of SEALED_RECORD_TABLES) {
    while (!options.signal.aborted) {
      const moved = await inOperatorTransaction(db, async (trx) => {
        const rows = await lockSealedToReencrypt(trx, table, options.tenantId, PAGE)
        let count = 0
        for (const row of rows) {
          count += await reseal(trx, keyRing, table, row)
          tenants.add(row.tenant_id)
        }
        return { count, fetched: rows.length }
      })
      done += moved.count
      if (moved.fetched < PAGE) break
    }
  }
  return { done, tenants }
}

async function reseal(
  trx: Parameters<typeof updateResealed>[0],
  keyRing: DataKeyRing,
  table: SealedRecordTable,
  row: Parameters<typeof updateResealed>[2],
): Promise<number> {
  const [oldKey, activeKey] = await Promise.all([
    findDataKey(trx, row.tenant_id, row.key_version),
    findDataKey(trx, row.tenant_id, 'active'),
  ])
  if (oldKey === undefined || activeKey === undefined) throw new Error(`data keys of ${row.tenant_id} vanished during re-encryption`)
  // Re-bound to the row as it is: a row changed behind the vault's back does not open, and is never
  // re-sealed into looking genuine (the page fails with crypto.integrity; verify names the row).
  const secret = openRecord(table.kind, await keyRing.unwrap(oldKey), row, oldKey.version, row[table.sealedColumn] as Uint8Array)
  try {
    const sealed = sealRecord(table.kind, await keyRing.unwrap(activeKey), row, activeKey.version, secret)
    return await updateResealed(trx, table, row, activeKey.version, sealed)
  } finally {
    secret.fill(0)
  }
}
