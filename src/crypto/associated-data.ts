/**
 * Canonical, unambiguous encoding of what a ciphertext is bound to. Every field is length-prefixed, so no
 * two different bindings encode to the same bytes ("ab"+"c" ≠ "a"+"bc"), and a label names the purpose so a
 * token ciphertext can never be accepted as a wrapped data key or the other way round.
 *
 * Layout (fixed forever: every stored ciphertext is bound to these exact bytes):
 *   label:  u32 length ‖ UTF-8
 *   string: u32 length ‖ 's' ‖ UTF-8
 *   number: u32 9      ‖ 'n' ‖ u64, big-endian
 *   absent: u32 1      ‖ 'z'            (null: never equal to "" or 0)
 */
export type BindingValue = string | number | null

const LENGTH_BYTES = 4
const STRING_TAG = 0x73 // 's'
const NUMBER_TAG = 0x6e // 'n': a number can never collide with a string of the same bytes
const ABSENT_TAG = 0x7a // 'z'
const NUMBER_BYTES = 1 + 8

export function encodeBinding(label: string, fields: readonly BindingValue[]): Buffer {
  let size = LENGTH_BYTES + Buffer.byteLength(label, 'utf8')
  for (const field of fields) {
    if (field === null) {
      size += LENGTH_BYTES + 1
    } else if (typeof field === 'number') {
      if (!Number.isSafeInteger(field) || field < 0) throw new TypeError('binding numbers must be non-negative integers')
      size += LENGTH_BYTES + NUMBER_BYTES
    } else {
      size += LENGTH_BYTES + 1 + Buffer.byteLength(field, 'utf8')
    }
  }
  // Built in one pooled buffer, every byte of which is written below: this runs for every secret sealed
  // or opened, and a zero-filled allocation of its own costs more than the rest of the encoding.
  const out = Buffer.allocUnsafe(size)
  let at = out.writeUInt32BE(Buffer.byteLength(label, 'utf8'), 0)
  at += out.write(label, at, 'utf8')
  for (const field of fields) {
    if (field === null) {
      at = out.writeUInt32BE(1, at)
      at = out.writeUInt8(ABSENT_TAG, at)
    } else if (typeof field === 'number') {
      at = out.writeUInt32BE(NUMBER_BYTES, at)
      at = out.writeUInt8(NUMBER_TAG, at)
      at = out.writeBigUInt64BE(BigInt(field), at)
    } else {
      const length = Buffer.byteLength(field, 'utf8')
      at = out.writeUInt32BE(1 + length, at)
      at = out.writeUInt8(STRING_TAG, at)
      at += out.write(field, at, 'utf8')
    }
  }
  if (at !== size) throw new Error('binding encoding did not fill its buffer')
  return out
}
