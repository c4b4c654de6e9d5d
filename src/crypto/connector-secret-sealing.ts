import type { KeyObject } from 'node:crypto'
import { openRecord, type RecordKind, sealRecord } from './record-binding.ts'

/** Where a connector's client secret belongs. */
export interface ConnectorLocation {
  tenantId: string
  connectorType: string
  connectorId: string
}

/**
 * Everything in a connector's refresh settings that decides where the vault sends a refresh token and a
 * client secret, and how. All of it is bound into the associated data of the sealed client secret, which
 * every connector has (a public client's is empty): a change made behind the vault's back makes it fail
 * to open, before any outbound call.
 */
export interface ConnectorSettingsBinding {
  tokenEndpoint: string | null
  issuer: string | null
  clientId: string
  clientAuthMethod: string
  extraParams: Record<string, string>
  /** Where a refresh token this connector leaves behind is revoked (RFC 7009); null: discovered, if at all. */
  revocationEndpoint: string | null
  revokeTokens: boolean
}

/** extra_params in one canonical form: sorted keys, so the stored jsonb's key order does not matter. */
function canonicalParams(params: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .map((name) => [name, params[name]]),
  )
}

/** A connector's settings row as the database holds it: where its secret belongs and what the seal authenticates. */
export interface ConnectorSecretColumns {
  tenant_id: string
  connector_type: string
  connector_id: string
  token_endpoint: string | null
  issuer: string | null
  client_id: string
  client_auth_method: string
  extra_params: Record<string, string>
  revocation_endpoint: string | null
  revoke_tokens: boolean
}

/**
 * A connector's client secret opens only for its tenant, connector, data-key version and settings, and its
 * label keeps it from ever being accepted as a token (or a token as it). Format v2 (v1 bound the location
 * and version only). Revocation (a revocation endpoint, or revocation turned off) is bound only when set:
 * settings sealed before it existed had neither, and open as they were sealed.
 */
export const CONNECTOR_CLIENT_SECRET: RecordKind<ConnectorSecretColumns> = {
  label: 'secret-vault/connector-client-secret/v2',
  bound: (row, keyVersion) => [
    row.tenant_id,
    row.connector_type,
    row.connector_id,
    keyVersion,
    row.token_endpoint,
    row.issuer,
    row.client_id,
    row.client_auth_method,
    canonicalParams(row.extra_params),
    ...(row.revocation_endpoint === null && row.revoke_tokens ? [] : [row.revocation_endpoint, row.revoke_tokens ? 1 : 0]),
  ],
}

function columnsOf(location: ConnectorLocation, settings: ConnectorSettingsBinding): ConnectorSecretColumns {
  return {
    tenant_id: location.tenantId,
    connector_type: location.connectorType,
    connector_id: location.connectorId,
    token_endpoint: settings.tokenEndpoint,
    issuer: settings.issuer,
    client_id: settings.clientId,
    client_auth_method: settings.clientAuthMethod,
    extra_params: settings.extraParams,
    revocation_endpoint: settings.revocationEndpoint,
    revoke_tokens: settings.revokeTokens,
  }
}

export function sealClientSecret(
  key: KeyObject,
  location: ConnectorLocation,
  settings: ConnectorSettingsBinding,
  keyVersion: number,
  secret: Buffer,
): Buffer {
  return sealRecord(CONNECTOR_CLIENT_SECRET, key, columnsOf(location, settings), keyVersion, secret)
}

export function openClientSecret(
  key: KeyObject,
  location: ConnectorLocation,
  settings: ConnectorSettingsBinding,
  keyVersion: number,
  sealed: Uint8Array,
): Buffer {
  return openRecord(CONNECTOR_CLIENT_SECRET, key, columnsOf(location, settings), keyVersion, sealed)
}

/** The binding of a settings row as the database returns it. */
export function settingsBindingOf(row: {
  token_endpoint: string | null
  issuer: string | null
  client_id: string
  client_auth_method: string
  extra_params: Record<string, string>
  revocation_endpoint: string | null
  revoke_tokens: boolean
}): ConnectorSettingsBinding {
  return {
    tokenEndpoint: row.token_endpoint,
    issuer: row.issuer,
    clientId: row.client_id,
    clientAuthMethod: row.client_auth_method,
    extraParams: row.extra_params,
    revocationEndpoint: row.revocation_endpoint,
    revokeTokens: row.revoke_tokens,
  }
}
