import type { KeyObject } from 'node:crypto'
import { type OpenOptions, open, seal } from './seal.ts'
import { type TokenSecret, type TokenSetLocation, tokenSecretAssociatedData } from './token-binding.ts'

export type { TokenSecret, TokenSetLocation } from './token-binding.ts'

export function sealToken(key: KeyObject, location: TokenSetLocation, secret: TokenSecret, keyVersion: number, value: Buffer): Buffer {
  return seal(key, value, tokenSecretAssociatedData(location, secret, keyVersion))
}

export function openToken(
  key: KeyObject,
  location: TokenSetLocation,
  secret: TokenSecret,
  keyVersion: number,
  sealed: Uint8Array,
  options?: OpenOptions,
): Buffer {
  return open(key, sealed, tokenSecretAssociatedData(location, secret, keyVersion), options)
}

/**
 * Moves one sealed secret to another data-key version, or to other bindings (`to.secret`: an access token
 * whose metadata changes, a refresh token re-bound by an operator): opened under the old binding, sealed
 * afresh (new salt, new IV) under the new one. Fails with the integrity error if the old one does not
 * open, so nothing is ever re-sealed from corrupt input.
 */
export function resealToken(
  from: { key: KeyObject; version: number; secret: TokenSecret },
  to: { key: KeyObject; version: number; secret?: TokenSecret },
  location: TokenSetLocation,
  sealed: Uint8Array,
): Buffer {
  return sealToken(to.key, location, to.secret ?? from.secret, to.version, openToken(from.key, location, from.secret, from.version, sealed))
}
