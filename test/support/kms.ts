import { type AwsKmsOptions, createAwsKmsKeyProvider } from '../../src/keys/aws-kms-key-provider.ts'
import type { KmsTestServer } from './kms-test-server.ts'

// The SDK's default credential chain reads these; the test server does not check signatures.
process.env.AWS_ACCESS_KEY_ID ??= 'AKIDTEST'
process.env.AWS_SECRET_ACCESS_KEY ??= 'test-secret'

/** The real provider, pointed at the KMS test server through its endpoint like any other KMS. */
export function kmsProvider(server: KmsTestServer, keyIds: string[], overrides: Partial<AwsKmsOptions> = {}) {
  return createAwsKmsKeyProvider({
    keyIds,
    activeKeyId: keyIds[0]!,
    region: server.region,
    endpoint: server.endpoint,
    timeoutMs: 300,
    maxAttempts: 3,
    ...overrides,
  })
}
