import { randomBytes, timingSafeEqual } from 'node:crypto'
import { HOTP, Secret, TOTP } from 'otpauth'
import { renderSVG } from 'uqr'

/**
 * TOTP (RFC 6238) as authenticator apps take it: HMAC-SHA-1, 6 digits, 30-second steps, a 160-bit seed
 * (RFC 4226's recommended length). These are fixed: the seed is all a factor stores, so a changed default
 * would need a new binding label, never a silent reinterpretation of stored seeds.
 */
const ALGORITHM = 'SHA1'
const DIGITS = 6
const PERIOD_SECONDS = 30
const SEED_BYTES = 20

export function generateSeed(): Buffer {
  return randomBytes(SEED_BYTES)
}

export function timeStep(at: Date): number {
  return Math.floor(at.getTime() / 1000 / PERIOD_SECONDS)
}

/** What an authenticator app is given, once, at enrolment. */
export function enrolment(seed: Buffer, issuer: string, accountName: string): { secret: string; otpauthUri: string; qrCodeSvg: string } {
  const totp = new TOTP({
    issuer,
    label: accountName,
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD_SECONDS,
    secret: new Secret({ buffer: Uint8Array.from(seed).buffer }),
  })
  const otpauthUri = totp.toString()
  return { secret: totp.secret.base32, otpauthUri, qrCodeSvg: renderSVG(otpauthUri) }
}

/**
 * The time step whose code this is, or null: the step of `at`, or the one before or after it (clocks
 * drift and people type slowly). All three are computed and compared in constant time, whichever matches.
 */
export function matchingStep(seed: Buffer, code: string, at: Date): number | null {
  const current = timeStep(at)
  const given = Buffer.from(code.padEnd(DIGITS, '\0').slice(0, DIGITS), 'utf8')
  const secret = new Secret({ buffer: Uint8Array.from(seed).buffer })
  let match: number | null = null
  for (const step of [current, current - 1, current + 1]) {
    const expected = Buffer.from(HOTP.generate({ secret, algorithm: ALGORITHM, digits: DIGITS, counter: step }), 'utf8')
    if (timingSafeEqual(given, expected) && code.length === DIGITS && match === null) match = step
  }
  return match
}
