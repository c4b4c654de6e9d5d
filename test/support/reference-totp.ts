import { createHmac } from 'node:crypto'

/**
 * An independent TOTP (RFC 6238 over RFC 4226), written from the RFCs with nothing but HMAC from
 * node:crypto: the tests compute codes with it, never with the vault's library. It is checked against the
 * RFC's own test vectors (test/mfa/reference-totp.test.ts).
 */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

export function base32Decode(text: string): Buffer {
  const clean = text.replace(/=+$/, '').toUpperCase()
  let bits = 0
  let value = 0
  const out: number[] = []
  for (const char of clean) {
    const index = BASE32.indexOf(char)
    if (index < 0) throw new Error(`not base32: ${char}`)
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff)
      bits -= 8
    }
  }
  return Buffer.from(out)
}

export function hotp(key: Buffer, counter: number, digits = 6, algorithm = 'sha1'): string {
  const message = Buffer.alloc(8)
  message.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac(algorithm, key).update(message).digest()
  const offset = mac[mac.length - 1]! & 0x0f
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!
  return String(binary % 10 ** digits).padStart(digits, '0')
}

/** The code of the 30-second step `offset` steps from the one `at` falls in. */
export function totp(key: Buffer, at: Date, offset = 0, digits = 6, algorithm = 'sha1'): string {
  return hotp(key, Math.floor(at.getTime() / 1000 / 30) + offset, digits, algorithm)
}
