import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { SEALED_FIELDS, secretsOfRow } from '../crypto/token-binding.ts'
import { resealToken } from '../crypto/token-sealing.ts'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { recordKeyOperation } from './key-events.ts'
import {
  countTokenSetsToReencrypt,
  findDataKey,
  findTokenSetsToReencrypt,
  type ReencryptedTokenSet,
  retiredVersionsInUse,
  updateReencryptedTokenSets,
} from './key-lifecycle.repository.ts'
import { reencryptSealedRecords } from './reencrypt-sealed-records.ts'
import { countSealedToReencrypt } from './sealed-records.ts'

export interface ReencryptOptions {
  tenantId: string | undefined
  batchSize: number
  /** Token sets per second at most; undefined for as fast as possible. */
  maxRate: number | undefined
  /** How many (tenant, key version) groups move at once, each in its own transactions. */
  parallelism: number
  /** Stops after the batch in flight commits (Ctrl-C). */
  signal: AbortSignal
  onProgress(progress: { done: number; total: number; ratePerSecond: number }): void
}

export interface ReencryptResult {
  done: number
  remaining: number
  interrupted: boolean
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Moves token sets (and then every other sealed record: see sealed-records.ts) to their tenant's active data key, one batch per transaction. The work left is defined
 * by the data ("not on the active version"), so the command is resumable after a crash or Ctrl-C and
 * idempotent: a batch either commits whole or not at all, and a committed row is never taken again.
 * Memory holds one batch, whatever the number of token sets.
 */
export async function reencryptTokenSets(db: Kysely<DB>, keyRing: DataKeyRing, options: ReencryptOptions): Promise<ReencryptResult> {
  const total = await inOperatorTransaction(
    db,
    async (trx) => (await countTokenSetsToReencrypt(trx, options.tenantId)) + (await countSealedToReencrypt(trx, options.tenantId)),
  )
  const started = Date.now()
  const touchedTenants = new Set<string>()
  let done = 0
  const reportProgress = () => {
    const elapsed = Math.max(1, Date.now() - started)
    options.onProgress({ done, total: Math.max(total, done), ratePerSecond: (done * 1000) / elapsed })
  }

  /**
   * Moves the next batch after `afterId`; `lastId` is where the next batch starts (null: nothing was left),
   * `moved` how many rows the swap took.
   */
  async function moveBatch(
    tenantId: string,
    fromVersion: number,
    afterId: string | null,
  ): Promise<{ lastId: string | null; fetched: number; moved: number }> {
    return inOperatorTransaction(db, async (trx) => {
      const rows = await findTokenSetsToReencrypt(trx, tenantId, fromVersion, afterId, options.batchSize)
      if (rows.length === 0) return { lastId: null, fetched: 0, moved: 0 }
      // Both keys once per batch: every row of it is on the same tenant and version.
      const [oldKey, activeKey] = await Promise.all([findDataKey(trx, tenantId, fromVersion), findDataKey(trx, tenantId, 'active')])
      if (oldKey === undefined || activeKey === undefined) throw new Error(`data keys of ${tenantId} vanished during re-encryption`)
      const from = { version: oldKey.version, key: await keyRing.unwrap(oldKey) }
      const to = { version: activeKey.version, key: await keyRing.unwrap(activeKey) }
      const resealed: ReencryptedTokenSet[] = []
      for (const row of rows) {
        const location = {
          tenantId: row.tenant_id,
          userId: row.user_id,
          connectorType: row.connector_type,
          connectorId: row.connector_id,
          tokenSetId: row.id,
        }
        const sealed = { access_token: row.access_token_sealed, refresh_token: row.refresh_token_sealed, id_token: row.id_token_sealed }
        // Re-bound to the row's metadata as read: a row changed behind the vault's back does not open and is
        // never re-sealed into looking genuine (the batch fails with crypto.integrity; verify names the row).
        const secrets = secretsOfRow(row)
        const [access, refresh, idToken] = SEALED_FIELDS.map((field) => {
          const value = sealed[field]
          return value === null ? null : resealToken({ ...from, secret: secrets[field] }, to, location, value)
        })
        resealed.push({
          tenant_id: row.tenant_id,
          id: row.id,
          rowVersion: row.row_version,
          from: from.version,
          to: to.version,
          access: access!,
          refresh: refresh ?? null,
          idToken: idToken ?? null,
        })
      }
      touchedTenants.add(tenantId)
      return { lastId: rows.at(-1)!.id, fetched: rows.length, moved: await updateReencryptedTokenSets(trx, resealed) }
    })
  }

  // Passes over the retired versions still in use; rows held by pushes get a few more passes.
  for (let pass = 0; pass < 50 && !options.signal.aborted; pass++) {
    const work = await inOperatorTransaction(db, (trx) => retiredVersionsInUse(trx, options.tenantId))
    if (work.length === 0) break
    if (pass > 0) await sleep(100)
    // Groups are independent, so a few move at once: sealing in this process overlaps writing in the
    // database. Each group still goes batch by batch, one transaction each.
    let next = 0
    const worker = async () => {
      while (!options.signal.aborted && next < work.length) {
        const { tenant_id, version } = work[next++]!
        let afterId: string | null = null
        while (!options.signal.aborted) {
          const { lastId, fetched, moved }: { lastId: string | null; fetched: number; moved: number } = await moveBatch(
            tenant_id,
            version,
            afterId,
          )
          afterId = lastId
          done += moved
          reportProgress()
          if (fetched < options.batchSize) break
          if (options.maxRate !== undefined) {
            const ahead = (done * 1000) / options.maxRate - (Date.now() - started)
            if (ahead > 0) await sleep(ahead)
          }
        }
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, options.parallelism) }, worker))
  }
  // Connector client secrets, users' secrets and MFA factors are sealed under the same data keys and move with them.
  const records = await reencryptSealedRecords(db, keyRing, { tenantId: options.tenantId, signal: options.signal })
  done += records.done
  for (const tenantId of records.tenants) touchedTenants.add(tenantId)
  reportProgress()
  if (touchedTenants.size > 0) {
    await inOperatorTransaction(db, async (trx) => {
      for (const tenantId of touchedTenants) {
        await recordKeyOperation(trx, { tenantId, action: 'key.reencrypt', keyVersion: null, requestId: randomUUID() })
      }
    })
  }
  const remaining = await inOperatorTransaction(
    db,
    async (trx) => (await countTokenSetsToReencrypt(trx, options.tenantId)) + (await countSealedToReencrypt(trx, options.tenantId)),
  )
  return { done, remaining, interrupted: options.signal.aborted }
}
