import type { Kysely } from 'kysely'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import { countAuditEventsAfter, findAuditEventsAfter, settledHorizon } from './audit.repository.ts'
import { toAuditEvent } from './audit.service.ts'

export interface AuditExportOptions {
  tenantId: string
  /** Resume after this id (the last one a previous export wrote); undefined: from the first event. */
  afterId: string | undefined
  /** Events per page: what is held in memory at once. */
  batch: number
  /**
   * Only events recorded longer ago than this are exported. Ids are allocated when an event is inserted
   * and committed later, so a newer id can be visible while an older one's transaction is still open; a
   * cursor moved past it would lose it. Past the settle time every transaction that recorded an event
   * has ended (the vault's own are bounded by its lock and request timeouts), so no id before the cursor
   * can still appear.
   */
  settleMs: number
  signal: AbortSignal
  onProgress?(done: number, total: number): void
}

export interface AuditExportResult {
  exported: number
  /** The last id written, to resume after; the one it started after if nothing was. */
  lastId: string | undefined
  /** Events up to this time are exported; later ones are left for the next run. */
  settledUntil: Date
  interrupted: boolean
}

/**
 * Streams a tenant's audit events as NDJSON lines (the API's event shape) into `write`, page by page in id
 * order, each page read in its own operator transaction, waiting for `write` before reading on: memory
 * stays at one page whatever the trail's size. Stops at the first event that is not settled yet, so a run
 * resumed after its last id has neither a gap nor a duplicate.
 */
export async function exportAuditEvents(
  db: Kysely<DB>,
  write: (line: string) => Promise<void>,
  options: AuditExportOptions,
): Promise<AuditExportResult> {
  const { horizon, total } = await inOperatorTransaction(db, async (trx) => ({
    horizon: await settledHorizon(trx, options.settleMs),
    total: await countAuditEventsAfter(trx, options.tenantId, options.afterId),
  }))
  let afterId = options.afterId
  let exported = 0
  options.onProgress?.(0, total)
  for (;;) {
    if (options.signal.aborted) return { exported, lastId: afterId, settledUntil: horizon, interrupted: true }
    const page = await inOperatorTransaction(db, (trx) =>
      findAuditEventsAfter(trx, { tenantId: options.tenantId, afterId, limit: options.batch, horizon }),
    )
    for (const { unsettled, ...row } of page) {
      if (unsettled) return { exported, lastId: afterId, settledUntil: horizon, interrupted: false }
      await write(`${JSON.stringify(toAuditEvent(row))}\n`)
      afterId = String(row.id)
      exported++
    }
    options.onProgress?.(exported, Math.max(total, exported))
    if (page.length < options.batch) return { exported, lastId: afterId, settledUntil: horizon, interrupted: false }
  }
}
