import { type Selectable, sql } from 'kysely'
import type { ClientAuthMethod, ConnectorRefreshSettingsTable, ConnectorType, RefreshPolicy } from '../db/schema.ts'
import type { TenantTransaction } from '../db/tenant-scope.ts'
import { type WrappedDataKey, withDataKey } from '../keys/data-key.repository.ts'

export interface ConnectorKey {
  tenantId: string
  connectorType: ConnectorType
  connectorId: string
}

/** A settings row as it may be shown: the sealed secret replaced by whether there is one. */
export type RefreshSettingsRow = Omit<Selectable<ConnectorRefreshSettingsTable>, 'client_secret_sealed'> & { has_client_secret: boolean }

export type RefreshSettingsWithSecret = RefreshSettingsRow & { client_secret_sealed: Uint8Array; dataKey: WrappedDataKey }

export interface RefreshSettingsWrite {
  token_endpoint: string | null
  issuer: string | null
  client_id: string
  client_auth_method: ClientAuthMethod
  client_secret_sealed: Buffer
  extra_params: Record<string, string>
  refresh_policy: RefreshPolicy
  revocation_endpoint: string | null
  revoke_tokens: boolean
  key_version: number
}

const columns = [
  'connector_refresh_settings.tenant_id',
  'connector_refresh_settings.connector_type',
  'connector_refresh_settings.connector_id',
  'connector_refresh_settings.token_endpoint',
  'connector_refresh_settings.issuer',
  'connector_refresh_settings.client_id',
  'connector_refresh_settings.client_auth_method',
  'connector_refresh_settings.extra_params',
  'connector_refresh_settings.refresh_policy',
  'connector_refresh_settings.revocation_endpoint',
  'connector_refresh_settings.revoke_tokens',
  'connector_refresh_settings.key_version',
  'connector_refresh_settings.created_at',
  'connector_refresh_settings.updated_at',
] as const
// Every connector has a sealed client secret (its settings' seal); a public client's is empty.
const hasClientSecret = sql<boolean>`connector_refresh_settings.client_auth_method <> 'none'`.as('has_client_secret')

export async function upsertRefreshSettings(
  trx: TenantTransaction,
  key: ConnectorKey,
  write: RefreshSettingsWrite,
): Promise<RefreshSettingsRow> {
  const values = { ...write, extra_params: JSON.stringify(write.extra_params), refresh_policy: JSON.stringify(write.refresh_policy) }
  return trx
    .insertInto('connector_refresh_settings')
    .values({ tenant_id: key.tenantId, connector_type: key.connectorType, connector_id: key.connectorId, ...values })
    .onConflict((c) => c.columns(['tenant_id', 'connector_type', 'connector_id']).doUpdateSet({ ...values, updated_at: sql<Date>`now()` }))
    .returning([...columns, hasClientSecret])
    .executeTakeFirstOrThrow()
}

export async function findRefreshSettings(trx: TenantTransaction, key: ConnectorKey): Promise<RefreshSettingsRow | undefined> {
  return trx
    .selectFrom('connector_refresh_settings')
    .select([...columns, hasClientSecret])
    .where('connector_refresh_settings.tenant_id', '=', key.tenantId)
    .where('connector_refresh_settings.connector_type', '=', key.connectorType)
    .where('connector_refresh_settings.connector_id', '=', key.connectorId)
    .executeTakeFirst()
}

/** The settings with the sealed client secret and the wrapped data key that opens it, for a refresh. */
export async function findRefreshSettingsWithSecret(
  trx: TenantTransaction,
  key: ConnectorKey,
): Promise<RefreshSettingsWithSecret | undefined> {
  const row = await trx
    .selectFrom('connector_refresh_settings')
    .innerJoin('data_keys as dk', (join) =>
      join
        .onRef('dk.tenant_id', '=', 'connector_refresh_settings.tenant_id')
        .onRef('dk.version', '=', 'connector_refresh_settings.key_version'),
    )
    .select([...columns, hasClientSecret, 'connector_refresh_settings.client_secret_sealed', 'dk.root_key_id', 'dk.wrapped_key'])
    .where('connector_refresh_settings.tenant_id', '=', key.tenantId)
    .where('connector_refresh_settings.connector_type', '=', key.connectorType)
    .where('connector_refresh_settings.connector_id', '=', key.connectorId)
    .executeTakeFirst()
  return row && withDataKey(row)
}

export async function deleteRefreshSettings(trx: TenantTransaction, key: ConnectorKey): Promise<boolean> {
  const result = await trx
    .deleteFrom('connector_refresh_settings')
    .where('tenant_id', '=', key.tenantId)
    .where('connector_type', '=', key.connectorType)
    .where('connector_id', '=', key.connectorId)
    .executeTakeFirst()
  return Number(result.numDeletedRows) > 0
}
