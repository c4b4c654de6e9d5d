import type { KeyObject } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Kysely, sql } from 'kysely'
import type { Logger } from 'pino'
import { AUDIT_DIGEST, type AuditDigestBinding, openRecord, sealRecord } from '../crypto/record-binding.ts'
import type { DB } from '../db/schema.ts'
import { inTenantTransaction, type OperatorTransaction, type TenantTransaction } from '../db/tenant-scope.ts'
import { auditTenantsToSeal } from '../db/vault-functions.ts'
import { findActiveDataKey } from '../keys/data-key.repository.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { createPoller } from '../outbox/outbox-worker.ts'
import { auditIdsDrawn, findEventsToSeal, insertAuditDigest, lastAuditDigest, transactionHorizon } from './audit-digest.repository.ts'
import { type DroppedRange, packEntries } from './audit-entries.ts'

const NOTHING = Buffer.alloc(0)
/**
 * Events per digest at most (32 bytes each: a digest of 64 KiB). A busy tenant's round is several digests;
 * the key lifecycle reads digests in pages of hundreds like every sealed record, so a digest stays small.
 */
const EVENTS_PER_DIGEST = 2048

/** The seal of a digest: AES-256-GCM over nothing, bound to every column of the row (a MAC). */
export function sealAuditDigest(key: KeyObject, row: AuditDigestBinding, keyVersion: number): Buffer {
  return sealRecord(AUDIT_DIGEST, key, row, keyVersion, NOTHING)
}

/** Throws the one IntegrityError (crypto.integrity) for a digest that was written or changed elsewhere. */
export function openAuditDigest(key: KeyObject, row: AuditDigestBinding, keyVersion: number, seal: Uint8Array): void {
  openRecord(AUDIT_DIGEST, key, row, keyVersion, seal)
}

/** One sealer of a tenant at a time, across replicas and the retention command; others skip or wait. */
function sealLock(trx: TenantTransaction | OperatorTransaction, tenantId: string, wait: boolean) {
  return wait
    ? sql`SELECT pg_advisory_xact_lock(hashtext('vault_audit_seal'), hashtext(${tenantId}))`.execute(trx).then(() => true)
    : sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(hashtext('vault_audit_seal'), hashtext(${tenantId})) AS locked`
        .execute(trx)
        .then((result) => result.rows[0]!.locked)
}

export interface AuditSealerOptions {
  /** How often each replica seals what every tenant recorded since its last digest; 0: never (tests seal by hand). */
  intervalMs: number
  /** At most this many tenants per round. */
  batch: number
  /**
   * How long after reading how far ids are drawn the sealer looks at which transactions are open: longer
   * than any statement takes from drawing an event's id to writing its row.
   */
  settleMs?: number
  /** How long a round waits for the transactions open at its start to end before it gives up until the next. */
  waitMs?: number
}

export interface AuditSealer {
  start(): void
  stop(): Promise<void>
  /** One round now: how many digests this replica stored. */
  sealNow(): Promise<number>
}

/**
 * Seals audit events into digests, on every replica, without a leader. A round first finds a horizon:
 * how far ids are drawn (V), then — once every transaction that was open a moment later has ended — every
 * id up to V is final: committed, or never to be. Each tenant with events up to V is then sealed by
 * whichever replica takes its lock: the events after its last digest, in id order, into the next digest,
 * which starts where the last ended. So digests cover every id once, whatever order transactions commit
 * in, and an event is tamper-evident from the round after it was written.
 */
export function createAuditSealer(deps: {
  db: Kysely<DB>
  keyRing: DataKeyRing
  now: () => Date
  logger: Logger
  options: AuditSealerOptions
  onSeal?: (outcome: 'sealed' | 'failed') => void
}): AuditSealer {
  const settleMs = deps.options.settleMs ?? 1000
  const waitMs = deps.options.waitMs ?? 10_000
  // A replica shutting down stops waiting: the round seals nothing, the next replica's round does.
  let closing = false

  async function horizon(): Promise<string | undefined> {
    const drawn = await auditIdsDrawn(deps.db)
    await sleep(settleMs)
    const { xmax } = await transactionHorizon(deps.db)
    const deadline = Date.now() + waitMs
    while ((await transactionHorizon(deps.db)).xmin < xmax) {
      if (closing) return undefined
      if (Date.now() > deadline) {
        deps.logger.warn('audit sealing waits for a transaction open longer than its round: it seals in a later round')
        return undefined
      }
      await sleep(50)
    }
    return drawn
  }

  async function sealTenant(tenantId: string, through: string): Promise<number> {
    return inTenantTransaction(deps.db, tenantId, async (trx) => {
      if (!(await sealLock(trx, tenantId, false))) return 0
      const active = await findActiveDataKey(trx, tenantId)
      if (active === undefined) return 0
      const key = await deps.keyRing.unwrap(active)
      let last = await lastAuditDigest(trx, tenantId)
      let stored = 0
      for (;;) {
        const events = await findEventsToSeal(trx, { tenantId, afterId: last.throughId, throughId: through, limit: EVENTS_PER_DIGEST })
        if (events.length === 0) return stored
        const whole = events.length < EVENTS_PER_DIGEST
        const row = {
          tenant_id: tenantId,
          number: String(last.number + 1),
          kind: 'seal' as const,
          sealed_at: deps.now(),
          after_id: last.throughId,
          // The last page claims the whole range up to the horizon: no id in it is still to come.
          through_id: whole ? through : events.at(-1)!.id,
          entries: packEntries(events),
          cut: null,
        }
        await insertAuditDigest(trx, { ...row, key_version: active.version, seal: sealAuditDigest(key, row, active.version) })
        stored += 1
        if (whole) return stored
        last = { number: last.number + 1, throughId: row.through_id }
      }
    })
  }

  async function sealRound(): Promise<number> {
    const through = await horizon()
    if (through === undefined) return 0
    let sealed = 0
    for (const tenant_id of await auditTenantsToSeal(deps.db, deps.options.batch, through)) {
      try {
        const stored = await sealTenant(tenant_id, through)
        sealed += stored
        for (let i = 0; i < stored; i++) deps.onSeal?.('sealed')
      } catch (error) {
        // A key-provider outage: this tenant is sealed next round; the others go on.
        deps.onSeal?.('failed')
        deps.logger.error({ err: error, tenant_id }, 'audit sealing failed')
      }
    }
    return sealed
  }

  const poller = createPoller({ intervalMs: deps.options.intervalMs, logger: deps.logger, what: 'audit sealing', round: sealRound })
  return {
    start: poller.start,
    stop: () => {
      closing = true
      return poller.stop()
    },
    sealNow: sealRound,
  }
}

/**
 * A retention cut: sealed by the retention command in the transaction that drops the months, before it
 * drops them, so that verification counts an event of those months that is gone as dropped, not deleted.
 * It covers no events (it starts and ends where the last digest ended).
 */
export async function sealRetentionCut(
  trx: OperatorTransaction,
  active: { version: number; key: KeyObject },
  tenantId: string,
  dropped: readonly DroppedRange[],
  now: Date,
): Promise<void> {
  await sealLock(trx, tenantId, true)
  const last = await lastAuditDigest(trx, tenantId)
  const row = {
    tenant_id: tenantId,
    number: String(last.number + 1),
    kind: 'retention' as const,
    sealed_at: now,
    after_id: last.throughId,
    through_id: last.throughId,
    entries: NOTHING,
    cut: JSON.stringify(dropped),
  }
  await insertAuditDigest(trx, { ...row, key_version: active.version, seal: sealAuditDigest(active.key, row, active.version) })
}
