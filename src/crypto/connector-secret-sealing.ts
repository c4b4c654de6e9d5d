import type { KeyObject } from 'node:crypto'
import { encodeBinding } from './associated-data.ts'
import { open, seal } from './seal.ts'

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
}

/** extra_params in one canonical form: sorted keys, so the stored jsonb's key order does not matter. */
function canonicalParams(params: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .map((name) => [name, params[name]]),
  )
}

/**
 * Associated data for a connector's client secret: it opens only for its tenant, connector, data-key
 * version and settings, and its label keeps it from ever being accepted as a token (or a token as it).
 * Format v2 (v1 bound the location and version only).
 */
function clientSecretAssociatedData(location: ConnectorLocation, settings: ConnectorSettingsBinding, keyVersion: number): Buffer {
  return encodeBinding('secret-vault/connector-client-secret/v2', [
    location.tenantId,
    location.connectorType,
    location.connectorId,
    keyVersion,
    settings.tokenEndpoint,
    settings.issuer,
    settings.clientId,
    settings.clientAuthMethod,
    canonicalParams(settings.extraParams),
  ])
}

export function sealClientSecret(
  key: KeyObject,
  location: ConnectorLocation,
  settings: ConnectorSettingsBinding,
  keyVersion: number,
  secret: Buffer,
): Buffer {
  return seal(key, secret, clientSecretAssociatedData(location, settings, keyVersion))
}

export function openClientSecret(
  key: KeyObject,
  location: ConnectorLocation,
  settings: ConnectorSettingsBinding,
  keyVersion: number,
  sealed: Uint8Array,
): Buffer {
  return open(key, sealed, clientSecretAssociatedData(location, settings, keyVersion))
}

/** Moves a sealed client secret to another data-key version; fails with the integrity error on bad input. */
export function resealClientSecret(
  from: { key: KeyObject; version: number },
  to: { key: KeyObject; version: number },
  location: ConnectorLocation,
  settings: ConnectorSettingsBinding,
  sealed: Uint8Array,
): Buffer {
  return sealClientSecret(to.key, location, settings, to.version, openClientSecret(from.key, location, settings, from.version, sealed))
}

/** The binding of a settings row as the database returns it. */
export function settingsBindingOf(row: {
  token_endpoint: string | null
  issuer: string | null
  client_id: string
  client_auth_method: string
  extra_params: Record<string, string>
}): ConnectorSettingsBinding {
  return {
    tokenEndpoint: row.token_endpoint,
    issuer: row.issuer,
    clientId: row.client_id,
    clientAuthMethod: row.client_auth_method,
    extraParams: row.extra_params,
  }
}
