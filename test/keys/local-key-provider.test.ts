import t from 'tap'
import { createLocalKeyProvider } from '../../src/keys/local-key-provider.ts'
import { randomRootKey } from '../support/helper.ts'

const rootA = randomRootKey('root-a')
const rootB = randomRootKey('root-b')
const provider = createLocalKeyProvider([rootA, rootB], 'root-a')
const context = { tenantId: 'acme', version: 1 }

t.test('generate wraps under the active root key and unwraps to the same key', async (t) => {
  const generated = await provider.generateDataKey(context)
  t.equal(generated.rootKeyId, 'root-a')
  t.equal(generated.plaintext.symmetricKeySize, 32)
  const unwrapped = await provider.decryptDataKey(generated.wrapped, 'root-a', context)
  t.same(unwrapped.export(), generated.plaintext.export())
  t.notOk(generated.wrapped.includes(generated.plaintext.export()), 'the wrapped key does not contain the key')
})

t.test('every single-byte flip of a wrapped key is an integrity error', async (t) => {
  const { wrapped } = await provider.generateDataKey(context)
  let refused = 0
  for (let i = 0; i < wrapped.length; i++) {
    const tampered = Buffer.from(wrapped)
    tampered[i]! ^= 0x80
    await provider.decryptDataKey(tampered, 'root-a', context).catch((error) => {
      if (error.code === 'crypto.integrity') refused++
    })
  }
  t.equal(refused, wrapped.length)
})

t.test('a wrapped key moved to another tenant, version or root key does not unwrap', async (t) => {
  const { wrapped } = await provider.generateDataKey(context)
  await t.rejects(provider.decryptDataKey(wrapped, 'root-a', { tenantId: 'globex', version: 1 }), { code: 'crypto.integrity' })
  await t.rejects(provider.decryptDataKey(wrapped, 'root-a', { tenantId: 'acme', version: 2 }), { code: 'crypto.integrity' })
  await t.rejects(provider.decryptDataKey(wrapped, 'root-b', context), { code: 'crypto.integrity' })
})

t.test('an unknown root key id is an error, never a fallback', async (t) => {
  const { wrapped } = await provider.generateDataKey(context)
  await t.rejects(provider.decryptDataKey(wrapped, 'root-z', context), { code: 'key.unknown_root_key' })
  t.throws(() => createLocalKeyProvider([rootA], 'root-z'), TypeError)
})

t.test('re-encrypting moves a data key to another root key unchanged', async (t) => {
  const generated = await provider.generateDataKey(context)
  const rewrapped = await provider.reEncryptDataKey(generated.wrapped, 'root-a', 'root-b', context)
  const unwrapped = await provider.decryptDataKey(rewrapped, 'root-b', context)
  t.same(unwrapped.export(), generated.plaintext.export())
  await t.rejects(provider.decryptDataKey(rewrapped, 'root-a', context), { code: 'crypto.integrity' })
})
