import type { Kysely } from 'kysely'
import type { DB } from '../db/schema.ts'
import { inTenantTransaction } from '../db/tenant-scope.ts'
import { VaultError } from '../errors.ts'
import { type AuditEventInsert, type AuditEventRow, findAuditEvents } from './audit.repository.ts'
import type { AuditPage, AuditQuery } from './audit.schemas.ts'
import { createAuditWriter } from './audit-writer.ts'

export interface AuditService {
  /**
   * Resolves once the event is committed. Rejects with service.unavailable (retryable) if it cannot be:
   * whatever the event records must then not be answered.
   */
  record(event: AuditEventInsert): Promise<void>
  list(tenantId: string, query: AuditQuery): Promise<AuditPage>
}

/** Cursors are opaque to callers: the id of the last event of a page, base64url-encoded. */
function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url')
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8')
  // An id is a positive bigint: anything else (9999999999999999999 overflows it) was not issued here.
  if (!/^[1-9]\d{0,18}$/.test(id) || BigInt(id) > 9_223_372_036_854_775_807n) {
    throw new VaultError('request.invalid', 'The cursor is not one this service issued', {
      issues: [{ path: 'query.cursor', message: 'unknown cursor' }],
    })
  }
  return id
}

/** An event as the API and the export show it. */
export function toAuditEvent(row: AuditEventRow): AuditPage['events'][number] {
  return {
    id: String(row.id),
    occurred_at: row.occurred_at.toISOString(),
    client_id: row.client_id,
    action: row.action,
    outcome: row.outcome,
    error_code: row.error_code,
    user_id: row.user_id,
    connector_type: row.connector_type,
    connector_id: row.connector_id,
    request_id: row.request_id,
    caller_request_id: row.caller_request_id,
    key_version: row.key_version,
  }
}

export function createAuditService({ db, onWriteFailure }: { db: Kysely<DB>; onWriteFailure?: () => void }): AuditService {
  const writer = createAuditWriter(db)
  return {
    async record(event) {
      try {
        await writer.write(event)
      } catch (error) {
        onWriteFailure?.()
        throw new VaultError('service.unavailable', 'The audit trail cannot be written right now; the request was not answered', {
          retryAfterSeconds: 1,
          cause: error,
        })
      }
    },

    async list(tenantId, { cursor, ...query }) {
      const beforeId = cursor === undefined ? undefined : decodeCursor(cursor)
      const rows = await inTenantTransaction(db, tenantId, (trx) => findAuditEvents(trx, tenantId, { ...query, beforeId }))
      const page = rows.slice(0, query.limit)
      const last = page.at(-1)
      return {
        events: page.map(toAuditEvent),
        next_cursor: rows.length > query.limit && last !== undefined ? encodeCursor(String(last.id)) : null,
      }
    },
  }
}
