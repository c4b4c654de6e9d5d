import type { KeyObject } from 'node:crypto'
import { resealToken, type TokenSecret, type TokenSetLocation } from '../crypto/token-sealing.ts'
import type { WrappedDataKey } from '../keys/data-key.repository.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'

/**
 * A stored secret that a write keeps (a refresh token a push did not carry, an ID token a refresh did not
 * return), with the binding it has. If the write moves the set to a newer data key, the kept secret is
 * opened under the old key and sealed again under the new one: a row never mixes key versions.
 */
export async function carrySealedSecret(
  keyRing: DataKeyRing,
  location: TokenSetLocation,
  secret: TokenSecret,
  sealed: Uint8Array | null,
  from: WrappedDataKey,
  to: { key: KeyObject; version: number },
): Promise<Uint8Array | null> {
  if (sealed === null) return null
  if (from.version === to.version) return sealed
  return resealToken({ key: await keyRing.unwrap(from), version: from.version, secret }, to, location, sealed)
}
