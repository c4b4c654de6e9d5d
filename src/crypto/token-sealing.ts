import type { KeyObject } from 'node:crypto'
import { open, seal, type OpenOptions } from './seal.ts'
import { tokenSecretAssociatedData, type SealedField, type TokenSecretBinding } from './token-binding.ts'

/** Where a token set's secrets belong; the field and key version complete the binding per secret. */
export type TokenSetLocation = Omit<TokenSecretBinding, 'field' | 'keyVersion'>

export function sealToken(key: KeyObject, location: TokenSetLocation, field: SealedField, keyVersion: number, value: Buffer): Buffer {
  return seal(key, value, tokenSecretAssociatedData({ ...location, field, keyVersion }))
}

export function openToken(
  key: KeyObject,
  location: TokenSetLocation,
  field: SealedField,
  keyVersion: number,
  sealed: Uint8Array,
  options?: OpenOptions,
): Buffer {
  return open(key, sealed, tokenSecretAssociatedData({ ...location, field, keyVersion }), options)
}

/**
 * Moves one sealed secret from one data-key version to another: opened under the old binding, sealed
 * afresh (new salt, new IV) under the new one. Fails with the integrity error if the old one does not open,
 * so nothing is ever re-sealed from corrupt input.
 */
export function resealToken(
  from: { key: KeyObject; version: number },
  to: { key: KeyObject; version: number },
  location: TokenSetLocation,
  field: SealedField,
  sealed: Uint8Array,
): Buffer {
  return sealToken(to.key, location, field, to.version, openToken(from.key, location, field, from.version, sealed))
}
