import { sql, type Kysely } from 'kysely'
import type { DB } from '../db/schema.ts'
import type { AuditEventInsert } from './audit.repository.ts'

export interface AuditWriter {
  /** Resolves once the event is committed; rejects if it could not be. */
  write(event: AuditEventInsert): Promise<void>
}

interface Pending {
  event: AuditEventInsert
  resolve(): void
  reject(error: unknown): void
}

/** Upper bound on one statement's events (and on its parameter arrays). */
const MAX_BATCH = 500

/**
 * Group commit for the audit trail. Every request still waits until its own event is durably committed
 * before its answer leaves — no token leaves unaudited — but events that arrive while one insert is in
 * flight go together in the next one: one statement and one commit for all of them, whatever their
 * tenants. Under load that turns N commits into a few; an idle service writes each event at once.
 */
export function createAuditWriter(db: Kysely<DB>): AuditWriter {
  let queue: Pending[] = []
  let flushing = false

  async function flush(): Promise<void> {
    flushing = true
    while (queue.length > 0) {
      const batch = queue.slice(0, MAX_BATCH)
      queue = queue.slice(batch.length)
      try {
        await insertBatch(db, batch.map((pending) => pending.event))
        for (const pending of batch) pending.resolve()
      } catch (error) {
        for (const pending of batch) pending.reject(error)
      }
    }
    flushing = false
  }

  return {
    write(event) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ event, resolve, reject })
        if (!flushing) void flush()
      })
    },
  }
}

async function insertBatch(db: Kysely<DB>, events: AuditEventInsert[]): Promise<void> {
  const column = <T>(pick: (event: AuditEventInsert) => T) => events.map(pick)
  await sql`SELECT vault_insert_audit_events(
    ${column((e) => e.tenant_id)}::text[], ${column((e) => e.client_id ?? null)}::text[], ${column((e) => e.action)}::text[],
    ${column((e) => e.outcome)}::text[], ${column((e) => e.error_code ?? null)}::text[], ${column((e) => e.user_id ?? null)}::text[],
    ${column((e) => e.connector_type ?? null)}::text[], ${column((e) => e.connector_id ?? null)}::text[],
    ${column((e) => e.request_id)}::text[], ${column((e) => e.key_version ?? null)}::int[]
  )`.execute(db)
}
