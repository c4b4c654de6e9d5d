import { createSecretKey, randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { open, seal } from '../../src/crypto/seal.ts'
import {
  type TokenSecret,
  type TokenSetLocation,
  type TokenSetMetadata,
  tokenSecretAssociatedData,
} from '../../src/crypto/token-binding.ts'
import { IntegrityError } from '../../src/errors.ts'

const key = createSecretKey(randomBytes(32))
const metadata: TokenSetMetadata = {
  state: 'active',
  tokenType: 'Bearer',
  scope: 'repo read:user',
  expiresAt: new Date('2026-12-03T12:00:00.000Z'),
  issuedAt: new Date('2026-12-03T04:00:00.000Z'),
  hasRefreshToken: true,
  target: 'github',
  issuer: null,
  providerSubject: '583231',
  writeId: '4a0c9f4e-3a4b-4e7e-9d8f-2b1e6f0c7d11',
}
type Binding = TokenSetLocation & { keyVersion: number; secret: TokenSecret }
const binding: Binding = {
  tenantId: 'acme',
  userId: 'alice',
  connectorType: 'social',
  connectorId: 'github-1',
  tokenSetId: '0b6f7c9e-4d8a-4a53-9f43-7f2f0f8a1c11',
  keyVersion: 3,
  secret: { field: 'access_token', metadata },
}
const adOf = ({ keyVersion, secret, ...location }: Binding) => tokenSecretAssociatedData(location, secret, keyVersion)
const plaintext = Buffer.from('gho_exampleAccessToken123')

function assertIntegrityError(t: Test, fn: () => unknown, message: string) {
  t.throws(fn, { name: 'IntegrityError', code: 'crypto.integrity' }, message)
}

t.test('round trip', async (t) => {
  const ad = adOf(binding)
  const sealed = seal(key, plaintext, ad)
  t.same(open(key, sealed, ad), plaintext)
  t.equal(sealed[0], 1, 'format version byte')
  t.equal(sealed.length, 1 + 32 + 12 + plaintext.length + 16)
  t.same(open(key, seal(key, Buffer.alloc(0), ad), ad), Buffer.alloc(0), 'empty plaintext')
})

t.test('two seals of the same plaintext differ (fresh salt and IV)', async (t) => {
  const ad = adOf(binding)
  const a = seal(key, plaintext, ad)
  const b = seal(key, plaintext, ad)
  t.not(a.toString('hex'), b.toString('hex'))
  t.not(a.subarray(1, 33).toString('hex'), b.subarray(1, 33).toString('hex'), 'salts differ')
})

t.test('salts and IVs never repeat, across many refills of the pool they are drawn from', async (t) => {
  const ad = adOf(binding)
  const salts = new Set<string>()
  const ivs = new Set<string>()
  const count = 1000 // the pool holds 93 nonces
  for (let i = 0; i < count; i++) {
    const sealed = seal(key, plaintext, ad)
    salts.add(sealed.subarray(1, 33).toString('hex'))
    ivs.add(sealed.subarray(33, 45).toString('hex'))
    if (i % 97 === 0) t.same(open(key, sealed, ad), plaintext, `seal ${i} opens`)
  }
  t.equal(salts.size, count, 'distinct salts')
  t.equal(ivs.size, count, 'distinct IVs')
})

t.test('every single-byte flip anywhere in the blob is an integrity error', async (t) => {
  const ad = adOf(binding)
  const sealed = seal(key, plaintext, ad)
  // Opened once first with the key kept, so every kept-key open below that keeps the salt meets it.
  t.same(open(key, sealed, ad, { keepDerivedKey: true }), plaintext)
  const regions = {
    version: [0, 1],
    salt: [1, 33],
    iv: [33, 45],
    ciphertext: [45, sealed.length - 16],
    tag: [sealed.length - 16, sealed.length],
  }
  for (const [region, [from, to]] of Object.entries(regions)) {
    let failures = 0
    for (let i = from!; i < to!; i++) {
      const tampered = Buffer.from(sealed)
      tampered[i]! ^= 0x01
      for (const keepDerivedKey of [false, true]) {
        try {
          open(key, tampered, ad, { keepDerivedKey })
        } catch (error) {
          if (error instanceof IntegrityError) failures++
        }
      }
    }
    t.equal(failures, 2 * (to! - from!), `all ${to! - from!} flips in ${region} refused, with and without a kept key`)
  }
})

t.test('truncated or extended blobs are integrity errors', async (t) => {
  const ad = adOf(binding)
  const sealed = seal(key, plaintext, ad)
  assertIntegrityError(t, () => open(key, sealed.subarray(0, sealed.length - 1), ad), 'one byte short')
  assertIntegrityError(t, () => open(key, sealed.subarray(0, 10), ad), 'header only')
  assertIntegrityError(t, () => open(key, Buffer.alloc(0), ad), 'empty')
  assertIntegrityError(t, () => open(key, Buffer.concat([sealed, Buffer.of(0)]), ad), 'one byte long')
})

t.test('a ciphertext moved to another place does not open', async (t) => {
  const sealed = seal(key, plaintext, adOf(binding))
  const moves: Array<[string, Partial<Binding>]> = [
    ['another tenant', { tenantId: 'globex' }],
    ['another user', { userId: 'bob' }],
    ['another connector', { connectorId: 'github-2' }],
    ['another connector type', { connectorType: 'enterprise_sso' }],
    ['another token set', { tokenSetId: '1b6f7c9e-4d8a-4a53-9f43-7f2f0f8a1c11' }],
    ['another field', { secret: { field: 'refresh_token', authorizationServer: null } }],
    ['another key version', { keyVersion: 4 }],
  ]
  for (const [name, change] of moves) {
    assertIntegrityError(t, () => open(key, sealed, adOf({ ...binding, ...change })), name)
  }
})

t.test("an access token does not open once any of its set's metadata changed", async (t) => {
  const sealed = seal(key, plaintext, adOf(binding))
  const edits: Array<[string, Partial<TokenSetMetadata>]> = [
    ['state', { state: 'reauth_required' }],
    ['token type', { tokenType: 'mac' }],
    ['scope widened', { scope: 'repo read:user admin:org' }],
    ['expiry moved forward', { expiresAt: new Date('2027-12-03T12:00:00.000Z') }],
    ['expiry removed', { expiresAt: null }],
    ['issued_at moved', { issuedAt: new Date('9999-01-01T00:00:00.000Z') }],
    ['refresh token claimed absent', { hasRefreshToken: false }],
    ['target', { target: 'gitlab' }],
    ['issuer added', { issuer: 'https://attacker.example' }],
    ['provider subject', { providerSubject: '1' }],
    ['empty string for absent', { issuer: '' }],
    ['another write', { writeId: '5b1d0a5f-4b5c-4f8f-8e9a-3c2f7a1d8e22' }],
  ]
  for (const [name, change] of edits) {
    assertIntegrityError(
      t,
      () => open(key, sealed, adOf({ ...binding, secret: { field: 'access_token', metadata: { ...metadata, ...change } } })),
      name,
    )
  }
})

t.test('a refresh token opens only for the authorization server it is bound to', async (t) => {
  const bound = {
    ...binding,
    secret: { field: 'refresh_token', authorizationServer: 'https://github.com/login/oauth/access_token' },
  } as const
  const sealed = seal(key, plaintext, adOf(bound))
  t.same(open(key, sealed, adOf(bound)), plaintext)
  for (const server of ['https://attacker.example/token', null, '']) {
    assertIntegrityError(
      t,
      () => open(key, sealed, adOf({ ...bound, secret: { field: 'refresh_token', authorizationServer: server } })),
      `bound to ${server}`,
    )
  }
})

t.test('the wrong key is an integrity error', async (t) => {
  const ad = adOf(binding)
  assertIntegrityError(t, () => open(createSecretKey(randomBytes(32)), seal(key, plaintext, ad), ad), 'other key')
})

t.test('a key kept from an earlier open serves only the master key it came from', async (t) => {
  const ad = adOf(binding)
  const sealed = seal(key, plaintext, ad)
  const keep = { keepDerivedKey: true }
  t.same(open(key, sealed, ad, keep), plaintext, 'first open derives and keeps')
  t.same(open(key, sealed, ad, keep), plaintext, 'second open, same result')
  t.same(open(key, sealed, ad), plaintext, 'an open that does not keep derives afresh')
  // Same salt, another master key: had the kept key been found by salt alone, this would open.
  assertIntegrityError(t, () => open(createSecretKey(randomBytes(32)), sealed, ad, keep), 'other master key, same salt')
  // The same key bytes in another object derive afresh and open.
  t.same(open(createSecretKey(key.export()), sealed, ad, keep), plaintext, 'same bytes, other object')
  // A second secret under the same master key and another salt is its own entry.
  const other = seal(key, Buffer.from('second'), ad)
  t.same(open(key, other, ad, keep), Buffer.from('second'))
  t.same(open(key, sealed, ad, keep), plaintext, 'the first still opens')
})

t.test('keys of the wrong size are refused before any byte is processed', async (t) => {
  const ad = adOf(binding)
  for (const size of [0, 16, 31, 33, 64]) {
    const wrong = createSecretKey(Buffer.alloc(size === 0 ? 1 : size, 7))
    t.throws(() => seal(wrong, plaintext, ad), TypeError, `seal with ${size}-byte key`)
    t.throws(() => open(wrong, seal(key, plaintext, ad), ad), TypeError, `open with ${size}-byte key`)
  }
})

t.test('the integrity error carries no secret material', async (t) => {
  const ad = adOf(binding)
  const sealed = seal(key, plaintext, ad)
  sealed[50]! ^= 0xff
  try {
    open(key, sealed, ad)
    t.fail('expected an integrity error')
  } catch (error) {
    const text = `${(error as Error).message} ${JSON.stringify(error)} ${(error as Error).stack}`
    t.notMatch(text, plaintext.toString())
    t.notMatch(text, sealed.toString('hex').slice(0, 16))
  }
})
