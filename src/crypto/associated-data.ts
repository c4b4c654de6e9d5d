/**
 * Canonical, unambiguous encoding of what a ciphertext is bound to. Every field is length-prefixed, so no
 * two different bindings encode to the same bytes ("ab"+"c" ≠ "a"+"bc"), and a label names the purpose so a
 * token ciphertext can never be accepted as a wrapped data key or the other way round.
 */
export type BindingValue = string | number

export function encodeBinding(label: string, fields: readonly BindingValue[]): Buffer {
  const parts: Buffer[] = [lengthPrefixed(Buffer.from(label, 'utf8'))]
  for (const field of fields) {
    if (typeof field === 'number') {
      if (!Number.isSafeInteger(field) || field < 0) throw new TypeError('binding numbers must be non-negative integers')
      const number = Buffer.alloc(9)
      number[0] = 0x6e // 'n': a number can never collide with a string of the same bytes
      number.writeBigUInt64BE(BigInt(field), 1)
      parts.push(lengthPrefixed(number))
    } else {
      parts.push(lengthPrefixed(Buffer.concat([Buffer.of(0x73), Buffer.from(field, 'utf8')])))
    }
  }
  return Buffer.concat(parts)
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(bytes.length)
  return Buffer.concat([length, bytes])
}
