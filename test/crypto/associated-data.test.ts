import t from 'tap'
import { encodeBinding } from '../../src/crypto/associated-data.ts'

t.test('bindings are unambiguous', async (t) => {
  const encodings = [
    encodeBinding('label', ['ab', 'c']),
    encodeBinding('label', ['a', 'bc']),
    encodeBinding('label', ['abc']),
    encodeBinding('label', ['abc', '']),
    encodeBinding('label', ['1']),
    encodeBinding('label', [1]),
    encodeBinding('other', ['ab', 'c']),
    encodeBinding('labe', ['lab', 'c']),
  ].map((buffer) => buffer.toString('hex'))
  t.equal(new Set(encodings).size, encodings.length, 'no two encodings collide')
})

t.test('the same binding always encodes the same', async (t) => {
  t.same(encodeBinding('x', ['tenant', 7]), encodeBinding('x', ['tenant', 7]))
})

t.test('numbers must be non-negative integers', async (t) => {
  t.throws(() => encodeBinding('x', [-1]), TypeError)
  t.throws(() => encodeBinding('x', [1.5]), TypeError)
})

t.test('the encoding is fixed: stored ciphertexts are bound to these exact bytes', async (t) => {
  // label, a string, a non-ASCII string, an empty string and two numbers, byte for byte.
  t.equal(
    encodeBinding('secret-vault/token-secret/v1', ['tenant-a', 'ü', '', 7, 0]).toString('hex'),
    '0000001c' +
      Buffer.from('secret-vault/token-secret/v1').toString('hex') +
      '00000009' +
      '73' +
      Buffer.from('tenant-a').toString('hex') +
      '00000003' +
      '73' +
      'c3bc' +
      '00000001' +
      '73' +
      '00000009' +
      '6e' +
      '0000000000000007' +
      '00000009' +
      '6e' +
      '0000000000000000',
  )
})
