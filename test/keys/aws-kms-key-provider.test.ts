import t from 'tap'
import { kmsProvider } from '../support/kms.ts'
import { startKmsTestServer } from '../support/kms-test-server.ts'

const kms = await startKmsTestServer()
t.teardown(() => kms.close())
const keyA = kms.createKey('alias/vault-a')
const keyB = kms.createKey()
const context = { tenantId: 'acme', version: 1 }

t.test('aliases resolve to key ARNs at start; data keys round-trip', async (t) => {
  const provider = await kmsProvider(kms, ['alias/vault-a', keyB])
  t.teardown(() => provider.close())
  t.equal(provider.activeRootKeyId, keyA)
  t.same([...provider.knownRootKeyIds].sort(), [keyA, keyB].sort())
  const generated = await provider.generateDataKey(context)
  t.equal(generated.rootKeyId, keyA, 'the stored root key id is the ARN')
  t.equal(generated.plaintext.symmetricKeySize, 32)
  const unwrapped = await provider.decryptDataKey(generated.wrapped, keyA, context)
  t.same(unwrapped.export(), generated.plaintext.export())
})

t.test('KMS enforces the encryption context: another tenant or version does not unwrap', async (t) => {
  const provider = await kmsProvider(kms, [keyA])
  t.teardown(() => provider.close())
  const { wrapped } = await provider.generateDataKey(context)
  await t.rejects(provider.decryptDataKey(wrapped, keyA, { tenantId: 'globex', version: 1 }), { code: 'crypto.integrity' })
  await t.rejects(provider.decryptDataKey(wrapped, keyA, { tenantId: 'acme', version: 2 }), { code: 'crypto.integrity' })
  const tampered = Buffer.from(wrapped)
  tampered[tampered.length - 1]! ^= 1
  await t.rejects(provider.decryptDataKey(tampered, keyA, context), { code: 'crypto.integrity' })
})

t.test('ReEncrypt moves a data key to another root key inside KMS', async (t) => {
  const provider = await kmsProvider(kms, [keyA, keyB])
  t.teardown(() => provider.close())
  const generated = await provider.generateDataKey(context)
  const before = kms.calls.ReEncrypt ?? 0
  const rewrapped = await provider.reEncryptDataKey(generated.wrapped, keyA, keyB, context)
  t.equal(kms.calls.ReEncrypt, before + 1)
  t.same((await provider.decryptDataKey(rewrapped, keyB, context)).export(), generated.plaintext.export())
  await t.rejects(provider.decryptDataKey(rewrapped, keyA, context), { code: 'crypto.integrity' }, 'not under the old key')
})

t.test('a root key that is not configured is refused without asking KMS', async (t) => {
  const provider = await kmsProvider(kms, [keyA])
  t.teardown(() => provider.close())
  const { wrapped } = await provider.generateDataKey(context)
  const before = kms.calls.Decrypt ?? 0
  await t.rejects(provider.decryptDataKey(wrapped, keyB, context), { code: 'key.unknown_root_key' })
  t.equal(kms.calls.Decrypt ?? 0, before)
})

t.test('throttling is retried with backoff until it passes', async (t) => {
  const provider = await kmsProvider(kms, [keyA], { maxAttempts: 4 })
  t.teardown(() => provider.close())
  const { wrapped } = await provider.generateDataKey(context)
  const before = kms.calls.Decrypt ?? 0
  kms.throttleNext = 2
  await provider.decryptDataKey(wrapped, keyA, context)
  t.equal(kms.calls.Decrypt! - before, 3, 'two throttled attempts, then success')
})

t.test('an outage, persistent throttling or a timeout is key.unavailable with Retry-After', async (t) => {
  const provider = await kmsProvider(kms, [keyA], { maxAttempts: 2, timeoutMs: 200 })
  t.teardown(() => provider.close())
  const { wrapped } = await provider.generateDataKey(context)
  for (const [name, set, reset] of [
    ['outage', () => (kms.mode = 'outage'), () => (kms.mode = 'ok')],
    ['throttling', () => (kms.mode = 'throttle'), () => (kms.mode = 'ok')],
    ['latency beyond the timeout', () => (kms.latencyMs = 1000), () => (kms.latencyMs = 0)],
  ] as const) {
    set()
    await t.rejects(
      provider.decryptDataKey(wrapped, keyA, context),
      { code: 'key.unavailable', statusCode: 503, retryAfterSeconds: 2 },
      name,
    )
    reset()
  }
  t.ok(await provider.decryptDataKey(wrapped, keyA, context), 'recovers when KMS does')
})

t.test('misconfiguration says what is wrong, at start and on use', async (t) => {
  await t.rejects(kmsProvider(kms, ['alias/does-not-exist']), {
    code: 'key.provider_misconfigured',
    message: /does not exist in this account and region/,
  })
  const provider = await kmsProvider(kms, [keyA])
  t.teardown(() => provider.close())
  kms.mode = 'deny'
  await t.rejects(provider.generateDataKey(context), { code: 'key.provider_misconfigured', message: /access to the KMS key is denied/ })
  kms.mode = 'ok'
  const disabled = kms.createKey()
  const withDisabled = await kmsProvider(kms, [disabled])
  t.teardown(() => withDisabled.close())
  const { wrapped } = await withDisabled.generateDataKey(context)
  kms.disableKey(disabled)
  await t.rejects(withDisabled.decryptDataKey(wrapped, disabled, context), { code: 'key.provider_misconfigured', message: /disabled/ })
})

t.test('the start refuses a key that DescribeKey finds but that cannot be used, naming it and its state', async (t) => {
  for (const [state, message] of [
    ['Disabled', /is disabled: enable it/],
    ['PendingDeletion', /pending deletion: cancel the deletion/],
  ] as const) {
    const key = kms.createKey(`alias/state-${state}`)
    kms.setKeyState(key, state)
    await t.rejects(
      kmsProvider(kms, [`alias/state-${state}`]),
      { code: 'key.provider_misconfigured', message: new RegExp(`KMS key alias/state-${state}: .*${message.source}`) },
      state,
    )
  }
  const old = kms.createKey()
  kms.disableKey(old)
  await t.rejects(
    kmsProvider(kms, [keyA, old]),
    { code: 'key.provider_misconfigured', message: /disabled/ },
    'a disabled decrypt-only key too: data keys it wrapped could not be opened',
  )
})
