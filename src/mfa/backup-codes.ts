import { randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Backup codes: ten by default, each ten characters of Crockford's base32 (digits and lower-case letters
 * without i, l, o and u, so nothing is mistaken for anything else), 50 bits from the system's generator,
 * shown as two groups of five. What a user types is read leniently: case, spaces and hyphens do not
 * matter, and i, l, o read as 1, 1, 0.
 */
export const BACKUP_CODE_COUNT = 10
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'
const LENGTH = 10

function generateCode(): string {
  // 32 symbols: each is 5 bits of a random byte, so every symbol is equally likely.
  return Array.from(randomBytes(LENGTH), (byte) => ALPHABET[byte & 31]).join('')
}

export function generateBackupCodes(count = BACKUP_CODE_COUNT): string[] {
  const codes = new Set<string>()
  while (codes.size < count) codes.add(generateCode())
  return [...codes]
}

/** How a code is shown: two groups of five. */
export function displayCode(code: string): string {
  return `${code.slice(0, 5)}-${code.slice(5)}`
}

export function normalizeCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]/g, '').replace(/[il]/g, '1').replace(/o/g, '0')
}

/** The place of the typed code in the set, or null; every code of the set is compared, in constant time. */
export function matchingIndex(codes: readonly string[], input: string): number | null {
  const normalized = normalizeCode(input)
  const given = Buffer.from(normalized.padEnd(LENGTH, '\0').slice(0, LENGTH), 'utf8')
  let match: number | null = null
  codes.forEach((code, index) => {
    if (timingSafeEqual(given, Buffer.from(code, 'utf8')) && normalized.length === LENGTH && match === null) match = index
  })
  return match
}
