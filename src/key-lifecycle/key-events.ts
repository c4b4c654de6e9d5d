import pg from 'pg'
import type { Logger } from 'pino'
import { insertAuditEvent } from '../audit/audit.repository.ts'
import type { OperatorTransaction } from '../db/tenant-scope.ts'
import { emitEvent } from '../db/vault-functions.ts'
import { notifyKeyChange } from './key-lifecycle.repository.ts'

/** The channel on which key changes reach every serving replica. */
const KEY_EVENTS_CHANNEL = 'secret_vault_key_events'

/** The webhook event each key operation sends to the tenant's endpoints (a shred sends none: they are gone). */
const EVENT_OF: Record<string, string> = {
  'key.rotate': 'tenant.data_key_rotated',
  'key.reencrypt': 'tenant.reencrypted',
  'key.destroy': 'tenant.data_key_destroyed',
  'key.rotate_root': 'tenant.root_key_rotated',
}

/**
 * Records a key operation in the tenant's audit trail and its event in the outbox, and tells every replica
 * (on commit) to drop the tenant's cached data keys. All happen inside the operation's transaction, so none
 * outlives a rollback.
 */
export async function recordKeyOperation(
  trx: OperatorTransaction,
  event: { tenantId: string; action: string; keyVersion: number | null; requestId: string },
): Promise<void> {
  await insertAuditEvent(trx, {
    tenant_id: event.tenantId,
    client_id: 'operator-cli',
    action: event.action,
    outcome: 'success',
    error_code: null,
    user_id: null,
    connector_type: null,
    connector_id: null,
    request_id: event.requestId,
    key_version: event.keyVersion,
  })
  const type = EVENT_OF[event.action]
  if (type !== undefined) {
    await emitEvent(trx, { tenantId: event.tenantId, type, data: { tenant_id: event.tenantId, key_version: event.keyVersion } })
  }
  await notifyKeyChange(trx, KEY_EVENTS_CHANNEL, event.tenantId)
}

/**
 * Listens for key changes on a dedicated connection and drops the named tenant's cached keys. Reconnects
 * after a failure; while disconnected, the cache's time limit still bounds how long a retired key lives.
 */
export function listenForKeyEvents(
  databaseUrl: string,
  onTenantKeysChanged: (tenantId: string) => void,
  logger: Logger,
): { close(): Promise<void> } {
  let client: pg.Client | undefined
  let closed = false
  let retry: NodeJS.Timeout | undefined

  const connect = async () => {
    const next = new pg.Client({ connectionString: databaseUrl })
    next.on('notification', (message) => {
      if (message.channel === KEY_EVENTS_CHANNEL && message.payload) onTenantKeysChanged(message.payload)
    })
    next.on('error', () => reconnect())
    next.on('end', () => reconnect())
    try {
      await next.connect()
      await next.query(`LISTEN ${KEY_EVENTS_CHANNEL}`)
      client = next
    } catch (error) {
      logger.warn({ cause: { type: (error as Error).name } }, 'key event listener could not connect; retrying')
      next.removeAllListeners('end')
      await next.end().catch(() => {})
      reconnect()
    }
  }
  const reconnect = () => {
    if (closed || retry !== undefined) return
    client = undefined
    retry = setTimeout(() => {
      retry = undefined
      void connect()
    }, 1000)
    retry.unref()
  }
  void connect()
  return {
    async close() {
      closed = true
      if (retry !== undefined) clearTimeout(retry)
      const current = client
      client = undefined
      if (current !== undefined) {
        current.removeAllListeners('end')
        await current.end().catch(() => {})
      }
    },
  }
}
