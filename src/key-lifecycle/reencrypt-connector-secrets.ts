import { type Kysely, sql } from 'kysely'
import { resealClientSecret, settingsBindingOf } from '../crypto/connector-secret-sealing.ts'
import type { ConnectorType, DB } from '../db/schema.ts'
import { inOperatorTransaction, type OperatorTransaction } from '../db/tenant-scope.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { findDataKey } from './key-lifecycle.repository.ts'

interface ConnectorSecretRow {
  tenant_id: string
  connector_type: ConnectorType
  connector_id: string
  key_version: number
  client_secret_sealed: Uint8Array
  token_endpoint: string | null
  issuer: string | null
  client_id: string
  client_auth_method: string
  extra_params: Record<string, string>
}

const PAGE = 200

/** Connector refresh settings whose client secret is not on the tenant's active data key. */
export async function countConnectorSecretsToReencrypt(trx: OperatorTransaction, tenantId: string | undefined): Promise<number> {
  const result = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM connector_refresh_settings rs
    JOIN data_keys act ON act.tenant_id = rs.tenant_id AND act.state = 'active'
    WHERE rs.key_version <> act.version ${tenantId === undefined ? sql`` : sql`AND rs.tenant_id = ${tenantId}`}`.execute(trx)
  return result.rows[0]!.n
}

/**
 * Moves connector client secrets to their tenant's active data key, a page per transaction, with the same
 * guarantees as token sets: resumable (the work left is "not on the active version"), compare-and-swap on
 * the version, nothing re-sealed from input that does not open. There is one row per connector, so pages
 * are small and few.
 */
export async function reencryptConnectorSecrets(
  db: Kysely<DB>,
  keyRing: DataKeyRing,
  options: { tenantId: string | undefined; signal: AbortSignal },
): Promise<{ done: number; tenants: Set<string> }> {
  let done = 0
  const tenants = new Set<string>()
  while (!options.signal.aborted) {
    const moved = await inOperatorTransaction(db, async (trx) => {
      const result = await sql<ConnectorSecretRow>`
        SELECT rs.tenant_id, rs.connector_type, rs.connector_id, rs.key_version, rs.client_secret_sealed,
               rs.token_endpoint, rs.issuer, rs.client_id, rs.client_auth_method, rs.extra_params
        FROM connector_refresh_settings rs
        JOIN data_keys act ON act.tenant_id = rs.tenant_id AND act.state = 'active'
        WHERE rs.key_version <> act.version ${options.tenantId === undefined ? sql`` : sql`AND rs.tenant_id = ${options.tenantId}`}
        ORDER BY rs.tenant_id, rs.connector_type, rs.connector_id
        LIMIT ${PAGE}
        FOR UPDATE OF rs SKIP LOCKED`.execute(trx)
      let count = 0
      for (const row of result.rows) {
        const [oldKey, activeKey] = await Promise.all([
          findDataKey(trx, row.tenant_id, row.key_version),
          findDataKey(trx, row.tenant_id, 'active'),
        ])
        if (oldKey === undefined || activeKey === undefined) throw new Error(`data keys of ${row.tenant_id} vanished during re-encryption`)
        const to = { version: activeKey.version, key: await keyRing.unwrap(activeKey) }
        const location = { tenantId: row.tenant_id, connectorType: row.connector_type, connectorId: row.connector_id }
        // The settings are re-bound as they are: a row whose settings were changed behind the vault's back
        // does not open, and is never re-sealed into looking genuine.
        const sealed = resealClientSecret(
          { version: oldKey.version, key: await keyRing.unwrap(oldKey) },
          to,
          location,
          settingsBindingOf(row),
          row.client_secret_sealed,
        )
        const updated = await trx
          .updateTable('connector_refresh_settings')
          .set({ key_version: to.version, client_secret_sealed: sealed })
          .where('tenant_id', '=', row.tenant_id)
          .where('connector_type', '=', row.connector_type)
          .where('connector_id', '=', row.connector_id)
          .where('key_version', '=', row.key_version)
          .executeTakeFirst()
        count += Number(updated.numUpdatedRows)
        tenants.add(row.tenant_id)
      }
      return { count, fetched: result.rows.length }
    })
    done += moved.count
    if (moved.fetched < PAGE) break
  }
  return { done, tenants }
}
