import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, type KeyObject, randomFillSync } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { IntegrityError } from '../errors.ts'

/**
 * Sealed-secret format, version 1:
 *
 *   [0]        format version (0x01)
 *   [1..33)    HKDF salt, 32 random bytes, fresh for every seal
 *   [33..45)   AES-GCM IV, 12 random bytes
 *   [45..n-16) ciphertext
 *   [n-16..n)  GCM tag, 16 bytes
 *
 * The key that encrypts is derived per seal: HKDF-SHA256(masterKey, salt, INFO) → 32 bytes. A master key
 * therefore never encrypts directly, and a random 96-bit IV under a key that is used once is safe at any
 * volume. The format version byte is authenticated together with the caller's associated data.
 */
export const SEAL_FORMAT_VERSION = 1
const SALT_LENGTH = 32
const IV_LENGTH = 12
const TAG_LENGTH = 16
const KEY_LENGTH = 32
const HEADER_LENGTH = 1 + SALT_LENGTH + IV_LENGTH
const INFO = Buffer.from('secret-vault v1 aes-256-gcm secret key')

function assertMasterKey(masterKey: KeyObject): void {
  if (masterKey.type !== 'secret' || masterKey.symmetricKeySize !== KEY_LENGTH) {
    // A programming or configuration error, never a property of stored data.
    throw new TypeError(`a sealing key must be a ${KEY_LENGTH}-byte secret key`)
  }
}

// A KeyObject, not bytes: the cipher takes a KeyObject as is, while raw key bytes cost it a copy and
// several type checks (about ten times the price of wrapping them once here).
function deriveKey(masterKey: KeyObject, salt: Buffer): KeyObject {
  return createSecretKey(new Uint8Array(hkdfSync('sha256', masterKey, salt, INFO, KEY_LENGTH)))
}

/**
 * Every read of a secret derives its key again, and that derivation costs more than the decryption it
 * enables. An open that asks (the access-token read, where the same secret is read again and again) keeps
 * the key it derived, bounded (~1 KB each) and for at most a minute from its derivation; bulk work that
 * opens each secret once (re-encryption, verification) does not ask, and neither fills nor uses the cache.
 * An entry is found only through the very master-key object it was derived from (an id per object, held
 * weakly), never through the salt alone: it opens nothing that its master key would not, and once the
 * data-key ring lets that key go, what it derived is unreachable and expires. A hit changes nothing about
 * what opens: the key depends on master and salt only, and GCM still checks every byte and the binding.
 */
const derivedKeys = new LRUCache<string, KeyObject>({ max: 10_000, ttl: 60_000, updateAgeOnGet: false })
const masterKeyIds = new WeakMap<KeyObject, number>()
let nextMasterKeyId = 0

function keptKey(masterKey: KeyObject, salt: Buffer): KeyObject {
  let id = masterKeyIds.get(masterKey)
  if (id === undefined) {
    id = nextMasterKeyId++
    masterKeyIds.set(masterKey, id)
  }
  const cacheKey = `${id}:${salt.toString('latin1')}`
  let key = derivedKeys.get(cacheKey)
  if (key === undefined) {
    key = deriveKey(masterKey, salt)
    derivedKeys.set(cacheKey, key)
  }
  return key
}

function authenticatedData(associatedData: Buffer): Buffer {
  return Buffer.concat([Buffer.of(SEAL_FORMAT_VERSION), associatedData])
}

/**
 * Salts and IVs come from a pool that the system's generator fills 4 KB at a time: a call to it costs
 * microseconds whatever its size, and a seal needs 44 bytes. Every byte of the pool is handed out once
 * (this runs on one thread, start to end without yielding). Salt and IV are stored in the clear beside
 * the ciphertext, so drawing them a little early reveals nothing.
 */
const NONCE_LENGTH = SALT_LENGTH + IV_LENGTH
const noncePool = Buffer.alloc(NONCE_LENGTH * Math.floor(4096 / NONCE_LENGTH))
let noncePoolDrawn = noncePool.length

function drawNonce(into: Buffer, at: number): void {
  if (noncePoolDrawn === noncePool.length) {
    randomFillSync(noncePool)
    noncePoolDrawn = 0
  }
  noncePool.copy(into, at, noncePoolDrawn, noncePoolDrawn + NONCE_LENGTH)
  noncePoolDrawn += NONCE_LENGTH
}

export function seal(masterKey: KeyObject, plaintext: Buffer, associatedData: Buffer): Buffer {
  assertMasterKey(masterKey)
  // Written in place, header first: one allocation, every byte of which is written below.
  const sealed = Buffer.allocUnsafe(HEADER_LENGTH + plaintext.length + TAG_LENGTH)
  sealed[0] = SEAL_FORMAT_VERSION
  drawNonce(sealed, 1)
  const salt = sealed.subarray(1, 1 + SALT_LENGTH)
  const iv = sealed.subarray(1 + SALT_LENGTH, HEADER_LENGTH)
  const cipher = createCipheriv('aes-256-gcm', deriveKey(masterKey, salt), iv, { authTagLength: TAG_LENGTH })
  cipher.setAAD(authenticatedData(associatedData))
  let at = HEADER_LENGTH + cipher.update(plaintext).copy(sealed, HEADER_LENGTH)
  at += cipher.final().copy(sealed, at)
  at += cipher.getAuthTag().copy(sealed, at)
  if (at !== sealed.length) throw new Error('sealing did not fill its buffer')
  return sealed
}

export interface OpenOptions {
  /** Keep the derived key for the next open of this secret (see derivedKeys). */
  keepDerivedKey?: boolean
}

/** Opens a sealed secret. Every failure, whatever its cause, is the same IntegrityError. */
export function open(
  masterKey: KeyObject,
  sealed: Uint8Array,
  associatedData: Buffer,
  { keepDerivedKey = false }: OpenOptions = {},
): Buffer {
  assertMasterKey(masterKey)
  const blob = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
  if (blob.length < HEADER_LENGTH + TAG_LENGTH || blob[0] !== SEAL_FORMAT_VERSION) throw new IntegrityError()
  const salt = blob.subarray(1, 1 + SALT_LENGTH)
  const iv = blob.subarray(1 + SALT_LENGTH, HEADER_LENGTH)
  const ciphertext = blob.subarray(HEADER_LENGTH, blob.length - TAG_LENGTH)
  const tag = blob.subarray(blob.length - TAG_LENGTH)
  try {
    const key = keepDerivedKey ? keptKey(masterKey, salt) : deriveKey(masterKey, salt)
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH })
    decipher.setAAD(authenticatedData(associatedData))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(ciphertext), decipher.final()])
  } catch {
    throw new IntegrityError()
  }
}
