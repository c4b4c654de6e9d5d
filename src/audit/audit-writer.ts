import type { Kysely } from 'kysely'
import { batched } from '../db/batched.ts'
import type { DB } from '../db/schema.ts'
import { insertAuditEvents } from '../db/vault-functions.ts'
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
    await insertAuditEvents(
      db,
      events.map((e) => ({
        tenant_id: e.tenant_id,
        client_id: e.client_id ?? null,
        action: e.action,
        outcome: e.outcome,
        error_code: e.error_code ?? null,
        user_id: e.user_id ?? null,
        connector_type: e.connector_type ?? null,
        connector_id: e.connector_id ?? null,
        request_id: e.request_id,
        caller_request_id: e.caller_request_id ?? null,
        key_version: e.key_version ?? null,
      })),
    )
    return events.map(() => undefined)
  })
  return { write: insert }
}
