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
