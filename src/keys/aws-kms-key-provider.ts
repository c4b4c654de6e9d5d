import { createSecretKey } from 'node:crypto'
import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  KMSClient,
  type KMSClientConfig,
  ReEncryptCommand,
} from '@aws-sdk/client-kms'
import { IntegrityError, VaultError } from '../errors.ts'
import type { DataKeyContext, GeneratedDataKey, KeyProvider } from './key-provider.ts'

export interface AwsKmsOptions {
  /** Key ids, ARNs or aliases of every KMS key the vault may unwrap with. */
  keyIds: readonly string[]
  /** The one that wraps new data keys. */
  activeKeyId: string
  region: string | undefined
  endpoint: string | undefined
  /** Per attempt; the SDK retries throttling, 5xx and timeouts with jittered backoff up to maxAttempts. */
  timeoutMs: number
  maxAttempts: number
  /** Only for SDK settings this module does not name (e.g. a credentials provider). */
  clientConfig?: Partial<KMSClientConfig>
}

/** Retry-After for a key that could not be unwrapped because KMS did not answer. */
const RETRY_AFTER_SECONDS = 2

/**
 * The encryption context KMS binds to every data key: wrapping under one tenant and version and unwrapping
 * under another fails inside KMS. CloudTrail records it, so it names the purpose too.
 */
function kmsEncryptionContext(context: DataKeyContext): Record<string, string> {
  return { purpose: 'secret-vault/tenant-data-key', tenant: context.tenantId, key_version: String(context.version) }
}

interface AwsError {
  name?: string
  $fault?: 'client' | 'server'
  $metadata?: { httpStatusCode?: number }
}

const THROTTLING = new Set(['ThrottlingException', 'TooManyRequestsException', 'LimitExceededException', 'RequestLimitExceeded'])
const MISCONFIGURED: Record<string, string> = {
  AccessDeniedException: 'access to the KMS key is denied: grant kms:Decrypt, kms:GenerateDataKey, kms:ReEncrypt* and kms:DescribeKey',
  DisabledException: 'the KMS key is disabled',
  KMSInvalidStateException: 'the KMS key is not in a usable state (pending deletion or import)',
  NotFoundException: 'the KMS key does not exist in this account and region (check the key id and AWS region)',
  InvalidArnException: 'the KMS key ARN is malformed',
  UnrecognizedClientException: 'the AWS credentials are not valid for KMS',
  InvalidSignatureException: 'the AWS credentials are not valid for KMS',
  IncompleteSignatureException: 'the AWS credentials are not valid for KMS',
}

/** What a failed KMS call means for the caller. Never carries key material (there is none in errors). */
function describeKmsError(error: unknown): { kind: 'unavailable' | 'misconfigured' | 'integrity'; message: string } {
  const e = error as AwsError
  const name = e?.name ?? 'Error'
  if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException')
    return { kind: 'integrity', message: 'KMS refused the wrapped data key' }
  const misconfigured = MISCONFIGURED[name]
  if (misconfigured !== undefined) return { kind: 'misconfigured', message: misconfigured }
  if (THROTTLING.has(name)) return { kind: 'unavailable', message: 'KMS is throttling requests' }
  return { kind: 'unavailable', message: `KMS did not answer (${name})` }
}

/** Why a key in this KeyState cannot wrap or unwrap data keys; undefined for an enabled key. */
function unusableKeyState(state: string | undefined): string | undefined {
  switch (state) {
    case 'Enabled':
      return undefined
    case 'Disabled':
      return 'the key is disabled: enable it (aws kms enable-key) or configure another key'
    case 'PendingDeletion':
    case 'PendingReplicaDeletion':
      return 'the key is pending deletion: cancel the deletion (aws kms cancel-key-deletion) or configure another key'
    case 'PendingImport':
      return 'the key has no key material yet (pending import)'
    case 'Unavailable':
      return 'the key is unavailable (its custom key store is disconnected)'
    default:
      return `the key is in state ${state ?? 'unknown'}, not Enabled`
  }
}

function toVaultError(error: unknown): VaultError {
  const described = describeKmsError(error)
  if (described.kind === 'integrity') return new IntegrityError()
  if (described.kind === 'misconfigured')
    return new VaultError('key.provider_misconfigured', `Key provider: ${described.message}`, { cause: error })
  return new VaultError('key.unavailable', 'The key provider is unavailable; retry shortly', {
    retryAfterSeconds: RETRY_AFTER_SECONDS,
    cause: error,
  })
}

/**
 * Root keys in AWS KMS. Data keys come from GenerateDataKey (AES_256), are unwrapped with Decrypt under the
 * same encryption context and the stored key ARN, and move between root keys with ReEncrypt, so a plaintext
 * data key never leaves KMS during root rotation.
 */
export async function createAwsKmsKeyProvider(options: AwsKmsOptions): Promise<KeyProvider> {
  const client = new KMSClient({
    ...options.clientConfig,
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    maxAttempts: options.maxAttempts,
    retryMode: 'standard',
    // Without throwOnRequestTimeout the SDK only logs a warning and keeps waiting on a hung KMS.
    requestHandler: { requestTimeout: options.timeoutMs, connectionTimeout: options.timeoutMs, throwOnRequestTimeout: true },
  })

  // Resolve every configured id (an alias, say) to its key ARN, which is what GenerateDataKey reports and
  // what is stored next to each wrapped key. This also validates the configuration at start.
  // DescribeKey answers for a disabled key or one pending deletion too: its KeyState says whether the key can
  // be used, and a key that cannot is refused here rather than failing every cold read later.
  const arnById = new Map<string, string>()
  for (const keyId of options.keyIds) {
    let metadata: { Arn?: string | undefined; KeyState?: string | undefined } | undefined
    try {
      metadata = (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata
    } catch (error) {
      client.destroy()
      throw new VaultError('key.provider_misconfigured', `KMS key ${keyId}: ${describeKmsError(error).message}`, { cause: error })
    }
    const unusable = metadata?.Arn === undefined ? 'DescribeKey returned no key ARN' : unusableKeyState(metadata.KeyState)
    if (unusable !== undefined) {
      client.destroy()
      throw new VaultError('key.provider_misconfigured', `KMS key ${keyId}: ${unusable}`)
    }
    arnById.set(keyId, metadata!.Arn!)
  }
  const activeArn = arnById.get(options.activeKeyId)
  if (activeArn === undefined) {
    client.destroy()
    throw new VaultError('key.provider_misconfigured', `the active KMS key ${options.activeKeyId} is not among the configured keys`)
  }
  const knownArns = new Set(arnById.values())

  function knownKey(rootKeyId: string): string {
    if (!knownArns.has(rootKeyId)) throw new VaultError('key.unknown_root_key', `Root key "${rootKeyId}" is not configured`)
    return rootKeyId
  }

  async function call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send()
    } catch (error) {
      if (error instanceof VaultError) throw error
      throw toVaultError(error)
    }
  }

  return {
    name: 'aws-kms',
    activeRootKeyId: activeArn,
    knownRootKeyIds: [...knownArns],
    async generateDataKey(context): Promise<GeneratedDataKey> {
      const result = await call(() =>
        client.send(new GenerateDataKeyCommand({ KeyId: activeArn, KeySpec: 'AES_256', EncryptionContext: kmsEncryptionContext(context) })),
      )
      if (result.Plaintext?.length !== 32 || result.CiphertextBlob === undefined) {
        throw new VaultError('key.provider_misconfigured', 'KMS returned a data key that is not 32 bytes')
      }
      const plaintext = createSecretKey(Buffer.from(result.Plaintext))
      result.Plaintext.fill(0)
      return { plaintext, wrapped: Buffer.from(result.CiphertextBlob), rootKeyId: result.KeyId ?? activeArn }
    },
    async decryptDataKey(wrapped, rootKeyId, context) {
      const result = await call(() =>
        client.send(
          new DecryptCommand({ KeyId: knownKey(rootKeyId), CiphertextBlob: wrapped, EncryptionContext: kmsEncryptionContext(context) }),
        ),
      )
      if (result.Plaintext?.length !== 32) throw new IntegrityError()
      const key = createSecretKey(Buffer.from(result.Plaintext))
      result.Plaintext.fill(0)
      return key
    },
    async reEncryptDataKey(wrapped, fromRootKeyId, toRootKeyId, context) {
      const encryptionContext = kmsEncryptionContext(context)
      const result = await call(() =>
        client.send(
          new ReEncryptCommand({
            CiphertextBlob: wrapped,
            SourceKeyId: knownKey(fromRootKeyId),
            DestinationKeyId: knownKey(toRootKeyId),
            SourceEncryptionContext: encryptionContext,
            DestinationEncryptionContext: encryptionContext,
          }),
        ),
      )
      if (result.CiphertextBlob === undefined) throw new VaultError('key.unavailable', 'KMS returned no ciphertext')
      return Buffer.from(result.CiphertextBlob)
    },
    close: () => client.destroy(),
  }
}
