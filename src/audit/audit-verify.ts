import type { Kysely } from 'kysely'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction, type OperatorTransaction } from '../db/tenant-scope.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { type AuditDigestRow, countEventsAfter, findAuditDigests, findEventsToSeal } from './audit-digest.repository.ts'
import { openAuditDigest } from './audit-digests.ts'
import { compareRange, type DroppedRange, describeProblem, ENTRY_BYTES, type TrailProblem, unpackEntries } from './audit-entries.ts'

export type AuditTrailProblem = TrailProblem | { kind: 'digest_forged'; digest: number } | { kind: 'digest_missing'; digest: number }

export interface AuditVerifyReport {
  tenantId: string
  ok: boolean
  problem: AuditTrailProblem | null
  /** The problem in words: positions and ids, never an event's content. */
  description: string | null
  /** Events held against the digest that sealed them. */
  checked: number
  /** Sealed events gone with a month `audit retention` dropped: not a loss. */
  droppedByRetention: number
  /** Digests that opened (every one, when ok). */
  digests: number
  lastSealedAt: string | null
  /** The id the digests cover through; events after it are not sealed yet (the sealer's next round covers them). */
  sealedThroughId: string
  unsealed: number
}

const DIGEST_PAGE = 50

type DigestWithKey = AuditDigestRow & { root_key_id: string; wrapped_key: Uint8Array }

async function eachDigest(trx: OperatorTransaction, tenantId: string, visit: (row: DigestWithKey) => Promise<boolean>): Promise<void> {
  let after = 0
  for (;;) {
    const page = await findAuditDigests(trx, { tenantId, afterNumber: after, limit: DIGEST_PAGE })
    for (const row of page) {
      if (!(await visit(row))) return
      after = Number(row.number)
    }
    if (page.length < DIGEST_PAGE) return
  }
}

/**
 * Checks a tenant's audit trail against its digests, in one snapshot. First every digest: it opens under
 * the tenant's data key, its number follows the last, and it starts where the last ended (so the digests
 * cover every id once); the months retention dropped are gathered. Then each digest's range against the
 * events in it. Memory: one digest and its events at a time. Answers the first problem by position.
 */
export async function verifyAuditTrail(
  db: Kysely<DB>,
  keyRing: DataKeyRing,
  options: { tenantId: string; onProgress?(done: number, total: number): void },
): Promise<AuditVerifyReport> {
  return inOperatorTransaction(
    db,
    async (trx) => {
      const report: AuditVerifyReport = {
        tenantId: options.tenantId,
        ok: true,
        problem: null,
        description: null,
        checked: 0,
        droppedByRetention: 0,
        digests: 0,
        lastSealedAt: null,
        sealedThroughId: '0',
        unsealed: 0,
      }
      const fail = (problem: AuditTrailProblem) => {
        Object.assign(report, { ok: false, problem, description: describe(problem) })
        return report
      }
      const dropped: DroppedRange[] = []
      let total = 0
      let previous: { number: number; throughId: string } | undefined
      let problem: AuditTrailProblem | undefined
      await eachDigest(trx, options.tenantId, async (row) => {
        const number = Number(row.number)
        if (previous !== undefined && (number !== previous.number + 1 || String(row.after_id) !== previous.throughId)) {
          problem = { kind: 'digest_missing', digest: previous.number + 1 }
          return false
        }
        const key = await keyRing.unwrap({
          tenantId: row.tenant_id,
          version: row.key_version,
          rootKeyId: row.root_key_id,
          wrappedKey: row.wrapped_key,
        })
        try {
          openAuditDigest(key, row, row.key_version, row.seal)
        } catch (error) {
          if ((error as { code?: string }).code !== 'crypto.integrity') throw error
          problem = { kind: 'digest_forged', digest: number }
          return false
        }
        if (row.cut !== null) dropped.push(...(JSON.parse(row.cut) as DroppedRange[]))
        total += row.entries.length / ENTRY_BYTES
        previous = { number, throughId: String(row.through_id) }
        report.digests += 1
        report.lastSealedAt = row.sealed_at.toISOString()
        return true
      })
      if (problem !== undefined) return fail(problem)
      report.sealedThroughId = previous?.throughId ?? '0'

      let done = 0
      await eachDigest(trx, options.tenantId, async (row) => {
        if (row.kind !== 'seal') return true
        const entries = unpackEntries(row.entries)
        const events = await findEventsToSeal(trx, {
          tenantId: options.tenantId,
          afterId: String(row.after_id),
          throughId: String(row.through_id),
          limit: 10 * entries.length + 1000,
        })
        const compared = compareRange(
          { number: Number(row.number), afterId: BigInt(row.after_id), throughId: BigInt(row.through_id), entries },
          events,
          dropped,
        )
        report.checked += compared.checked
        report.droppedByRetention += compared.dropped
        done += entries.length
        options.onProgress?.(done, total)
        problem = compared.problem
        return problem === undefined
      })
      if (problem !== undefined) return fail(problem)
      report.unsealed = await countEventsAfter(trx, options.tenantId, report.sealedThroughId)
      return report
    },
    { snapshot: true },
  )
}

function describe(problem: AuditTrailProblem): string {
  switch (problem.kind) {
    case 'digest_forged':
      return `digest ${problem.digest} does not open under the tenant's data key: it was written or changed outside the vault`
    case 'digest_missing':
      return `digest ${problem.digest} is missing: it was deleted (the digests no longer cover every event once)`
    default:
      return describeProblem(problem)
  }
}
