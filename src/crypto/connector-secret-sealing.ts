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
 * Associated data for a connector's client secret: it opens only for its tenant, connector and data-key
 * version, and its label keeps it from ever being accepted as a token (or a token as it).
 */
function clientSecretAssociatedData(location: ConnectorLocation, keyVersion: number): Buffer {
  return encodeBinding('secret-vault/connector-client-secret/v1', [
    location.tenantId,
    location.connectorType,
    location.connectorId,
    keyVersion,
  ])
}

export function sealClientSecret(key: KeyObject, location: ConnectorLocation, keyVersion: number, secret: Buffer): Buffer {
  return seal(key, secret, clientSecretAssociatedData(location, keyVersion))
}

export function openClientSecret(key: KeyObject, location: ConnectorLocation, keyVersion: number, sealed: Uint8Array): Buffer {
  return open(key, sealed, clientSecretAssociatedData(location, keyVersion))
}

/** Moves a sealed client secret to another data-key version; fails with the integrity error on bad input. */
export function resealClientSecret(
  from: { key: KeyObject; version: number },
  to: { key: KeyObject; version: number },
  location: ConnectorLocation,
  sealed: Uint8Array,
): Buffer {
  return sealClientSecret(to.key, location, to.version, openClientSecret(from.key, location, from.version, sealed))
}
