import t from 'tap'
import { base32Decode, hotp, totp } from '../support/reference-totp.ts'

// The tests' own TOTP must be right before it can judge the vault's: RFC 4226 Appendix D and RFC 6238
// Appendix B.
t.test('HOTP matches RFC 4226 Appendix D', async (t) => {
  const key = Buffer.from('12345678901234567890')
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489']
  t.same(
    expected.map((_, counter) => hotp(key, counter)),
    expected,
  )
})

t.test('TOTP matches RFC 6238 Appendix B (SHA-1, 8 digits)', async (t) => {
  const key = Buffer.from('12345678901234567890')
  const vectors: Array<[number, string]> = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ]
  for (const [seconds, code] of vectors) t.equal(totp(key, new Date(seconds * 1000), 0, 8), code, `T = ${seconds}`)
})

t.test('base32 decodes RFC 4648 vectors', async (t) => {
  t.equal(base32Decode('MZXW6YTBOI').toString(), 'foobar')
  t.equal(base32Decode('MZXW6YQ=').toString(), 'foob')
})
