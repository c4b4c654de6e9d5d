import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import { createAwsKmsKeyProvider } from './aws-kms-key-provider.ts'
import type { KeyProvider } from './key-provider.ts'
import { createLocalKeyProvider } from './local-key-provider.ts'
import { chooseActiveRootKey, ensureDevelopmentRootKeyFile, parseLocalRootKeys, readLocalRootKeysFile } from './local-root-keys.ts'

/** Builds the configured key provider; fails closed on a missing, malformed or wrong-length key. */
export async function createKeyProviderFromConfig(config: Config, logger: Logger): Promise<KeyProvider> {
  const { keys } = config
  if (keys.provider === 'aws-kms') {
    // Credentials come from the SDK's default chain: environment, web identity (Kubernetes service
    // accounts), instance or task role. DescribeKey on every configured key validates them at start.
    return createAwsKmsKeyProvider({
      keyIds: keys.kms.keyIds,
      activeKeyId: keys.kms.activeKeyId!,
      region: keys.kms.region,
      endpoint: keys.kms.endpoint,
      timeoutMs: keys.kms.timeoutMs,
      maxAttempts: keys.kms.maxAttempts,
    })
  }
  let text: string
  let source: string
  if (keys.localRootKeys !== undefined) {
    text = keys.localRootKeys
    source = 'VAULT_LOCAL_ROOT_KEYS'
  } else {
    let file = keys.localRootKeysFile
    if (file === undefined) {
      // Only reachable on the embedded database: config validation demands a key for a real server.
      const development = ensureDevelopmentRootKeyFile(config.dataDir)
      file = development.file
      logger.warn(
        { rootKeyFile: file, generated: development.generated },
        '!!! DEVELOPMENT ROOT KEY IN USE: the local root key lives in a file next to the data. ' +
          'Do not store real tokens this way; configure VAULT_LOCAL_ROOT_KEYS(_FILE) or KMS for production. !!!',
      )
    }
    text = readLocalRootKeysFile(file)
    source = file
  }
  const rootKeys = parseLocalRootKeys(text, source)
  return createLocalKeyProvider(rootKeys, chooseActiveRootKey(rootKeys, keys.activeRootKeyId, source))
}
