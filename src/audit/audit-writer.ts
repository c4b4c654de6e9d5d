import { type Kysely, sql } from 'kysely'
import { batched } from '../db/batched.ts'
import type { DB } from '../db/schema.ts'
import type { AuditEventInsert } from './audit.repository.ts'

export interface AuditWriter {
  /** Resolves once the event is committed; rejects if it could not be. */
  write(event: AuditEventInsert): Promise<void>
}

/**
 * Group commit for the audit trail. Every request still waits until its own event is durably committed
 * before its answer leaves — no token leaves unaudited — but the events of requests that finish in the
 * same turn of the event loop go together: one statement and one commit for all of them, whatever their
 * tenants.
 */
export function createAuditWriter(db: Kysely<DB>): AuditWriter {
  const insert = batched(async (events: readonly AuditEventInsert[]) => {
    await insertBatch(db, events)
    return events.map(() => undefined)
  })
  return { write: insert }
}

async function insertBatch(db: Kysely<DB>, events: readonly AuditEventInsert[]): Promise<void> {
  const column = <T>(pick: (event: AuditEventInsert) => T) => events.map(pick)
  await sql`SELECT vault_insert_audit_events(
    ${column((e) => e.tenant_id)}::text[], ${column((e) => e.client_id ?? null)}::text[], ${column((e) => e.action)}::text[],
    ${column((e) => e.outcome)}::text[], ${column((e) => e.error_code ?? null)}::text[], ${column((e) => e.user_id ?? null)}::text[],
    ${column((e) => e.connector_type ?? null)}::text[], ${column((e) => e.connector_id ?? null)}::text[],
    ${column((e) => e.request_id)}::text[], ${column((e) => e.key_version ?? null)}::int[],
    ${column((e) => e.caller_request_id ?? null)}::text[]
  )`.execute(db)
}
