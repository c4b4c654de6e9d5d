import type { KeyObject } from 'node:crypto'

/** What a tenant data key is bound to when it is wrapped; a provider must refuse to unwrap under another. */
export interface DataKeyContext {
  tenantId: string
  version: number
}

export interface GeneratedDataKey {
  plaintext: KeyObject
  wrapped: Buffer
  rootKeyId: string
}

/**
 * Custody of root keys. Root keys never leave their provider: callers only ever see wrapped data keys and,
 * for as long as they are cached, unwrapped data keys as KeyObjects.
 */
export interface KeyProvider {
  readonly name: 'local' | 'aws-kms'
  /** The root key that wraps new data keys. */
  readonly activeRootKeyId: string
  /** Every root key this provider can unwrap with. */
  readonly knownRootKeyIds: readonly string[]
  generateDataKey(context: DataKeyContext): Promise<GeneratedDataKey>
  decryptDataKey(wrapped: Uint8Array, rootKeyId: string, context: DataKeyContext): Promise<KeyObject>
  /** Re-wraps under another root key without exposing the data key to the caller where the provider can. */
  reEncryptDataKey(wrapped: Uint8Array, fromRootKeyId: string, toRootKeyId: string, context: DataKeyContext): Promise<Buffer>
  /** Releases connections (KMS client sockets). */
  close(): void
}
