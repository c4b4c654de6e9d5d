import type { Kysely } from 'kysely'
import { sealClientSecret, settingsBindingOf } from '../crypto/connector-secret-sealing.ts'
import type { DB } from '../db/schema.ts'
import { inTenantTransaction, type TenantTransaction } from '../db/tenant-scope.ts'
import type { EgressPolicy } from '../egress/egress-policy.ts'
import { VaultError } from '../errors.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import type { ConnectorKey, RefreshSettingsRow } from './refresh-settings.repository.ts'
import * as repository from './refresh-settings.repository.ts'
import { DEFAULT_REFRESH_POLICY, type PutRefreshSettingsBody, type RefreshSettings } from './refresh-settings.schemas.ts'

export interface RefreshSettingsService {
  put(key: ConnectorKey, body: PutRefreshSettingsBody): Promise<{ created: boolean; settings: RefreshSettings }>
  get(key: ConnectorKey): Promise<RefreshSettings>
  /** The connector was deleted: its token sets and its refresh settings go together. */
  deleteConnector(
    key: ConnectorKey,
  ): Promise<{ token_sets_deleted: number; refresh_settings_deleted: boolean; revocations_scheduled: number }>
}

function toRefreshSettings(row: RefreshSettingsRow): RefreshSettings {
  return {
    tenant_id: row.tenant_id,
    connector_type: row.connector_type,
    connector_id: row.connector_id,
    token_endpoint: row.token_endpoint,
    issuer: row.issuer,
    client_id: row.client_id,
    client_auth_method: row.client_auth_method,
    has_client_secret: row.has_client_secret,
    extra_params: row.extra_params,
    refresh_policy: { ...DEFAULT_REFRESH_POLICY, ...row.refresh_policy },
    revocation_endpoint: row.revocation_endpoint,
    revoke_tokens: row.revoke_tokens,
    key_version: row.key_version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

export function createRefreshSettingsService({
  db,
  keyRing,
  egress,
  deleteTokenSetsOfConnector,
}: {
  db: Kysely<DB>
  keyRing: DataKeyRing
  /** Client secrets and refresh tokens are sent to these URLs: they must pass the egress policy. */
  egress: Pick<EgressPolicy, 'requireAllowed'>
  /** Deletes the connector's token sets in the caller's transaction (token sets sit above connectors). */
  deleteTokenSetsOfConnector: (trx: TenantTransaction, key: ConnectorKey) => Promise<{ deleted: number; revocations_scheduled: number }>
}): RefreshSettingsService {
  return {
    async put(key, body) {
      egress.requireAllowed(body.token_endpoint, 'body.token_endpoint')
      egress.requireAllowed(body.issuer, 'body.issuer')
      egress.requireAllowed(body.revocation_endpoint, 'body.revocation_endpoint')
      return inTenantTransaction(db, key.tenantId, async (trx) => {
        const existed = (await repository.findRefreshSettings(trx, key)) !== undefined
        const active = await keyRing.activeKey(trx, key.tenantId)
        const settings = {
          token_endpoint: body.token_endpoint ?? null,
          issuer: body.issuer ?? null,
          client_id: body.client_id,
          client_auth_method: body.client_auth_method,
          extra_params: body.extra_params,
          revocation_endpoint: body.revocation_endpoint ?? null,
          revoke_tokens: body.revoke_tokens,
        }
        // Sealed for every connector, a public client's empty secret too: the seal authenticates the settings.
        const row = await repository.upsertRefreshSettings(trx, key, {
          ...settings,
          client_secret_sealed: sealClientSecret(
            active.key,
            key,
            settingsBindingOf(settings),
            active.version,
            Buffer.from(body.client_secret ?? '', 'utf8'),
          ),
          refresh_policy: body.refresh_policy,
          key_version: active.version,
        })
        return { created: !existed, settings: toRefreshSettings(row) }
      })
    },

    async get(key) {
      const row = await inTenantTransaction(db, key.tenantId, (trx) => repository.findRefreshSettings(trx, key))
      if (row === undefined) throw new VaultError('connector.not_found', 'No refresh settings are registered for this connector')
      return toRefreshSettings(row)
    },

    deleteConnector: (key) =>
      inTenantTransaction(db, key.tenantId, async (trx) => {
        // Token sets first: their revocations take a copy of the settings deleted after them.
        const tokenSets = await deleteTokenSetsOfConnector(trx, key)
        return {
          token_sets_deleted: tokenSets.deleted,
          refresh_settings_deleted: await repository.deleteRefreshSettings(trx, key),
          revocations_scheduled: tokenSets.revocations_scheduled,
        }
      }),
  }
}
