import { z } from 'zod'
import { clearText, looseText } from '../schemas/text.ts'

// The OAuth 2.0 token response (RFC 6749 §5.1) as providers really send it, and its one normal form: what a
// push carries from the identity core and what a refresh gets back from the provider.

/** Access and refresh tokens: JWT access tokens with claims run to a few KiB, never near this. */
const MAX_TOKEN_LENGTH = 65_536
/** ID tokens of enterprise SSO carry groups claims: hundreds of KiB are real (the body limit caps it anyway). */
const MAX_ID_TOKEN_LENGTH = 1_000_000

/**
 * The provider's token response as the connector received it. Providers differ: expires_in may be a number
 * or a numeric string, scope space- or comma-separated, token_type or refresh_token absent. Fields that are
 * not listed are accepted and dropped.
 */
export const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1).max(MAX_TOKEN_LENGTH),
  token_type: clearText(1, 64).nullish(),
  expires_in: z
    .union([
      z
        .number()
        .int()
        .min(0)
        .max(2 ** 31),
      z.string().regex(/^\s*\d{1,10}\s*$/),
    ])
    .nullish(),
  // draft-ietf-oauth-refresh-token-expiration (GitHub Apps and others): seconds until the refresh token dies.
  refresh_token_expires_in: z
    .union([
      z
        .number()
        .int()
        .min(0)
        .max(2 ** 31),
      z.string().regex(/^\s*\d{1,10}\s*$/),
    ])
    .nullish(),
  refresh_token: z.string().min(1).max(MAX_TOKEN_LENGTH).nullish(),
  id_token: z.string().min(1).max(MAX_ID_TOKEN_LENGTH).nullish(),
  scope: looseText(4096).nullish(),
})

export type TokenResponse = z.infer<typeof tokenResponseSchema>

export interface NormalizedTokenSet {
  accessToken: string
  refreshToken: string | undefined
  idToken: string | undefined
  tokenType: string
  /** Space-separated, de-duplicated, in the provider's order. */
  scope: string
  expiresAt: Date | null
  /** When the refresh token expires, if the provider said; null without a refresh token. */
  refreshTokenExpiresAt: Date | null
}

/** Turns the many shapes of provider token responses into one. Pure. */
export function normalizeTokenResponse(response: TokenResponse, issuedAt: Date): NormalizedTokenSet {
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token ?? undefined,
    idToken: response.id_token ?? undefined,
    tokenType: normalizeTokenType(response.token_type),
    scope: normalizeScope(response.scope),
    expiresAt: expiresAt(response.expires_in, issuedAt),
    refreshTokenExpiresAt: response.refresh_token == null ? null : expiresAt(response.refresh_token_expires_in, issuedAt),
  }
}

/** RFC 6749 says token_type is case-insensitive; "bearer" (GitHub, Facebook) is spelled as RFC 6750 does. */
export function normalizeTokenType(tokenType: string | null | undefined): string {
  if (tokenType === undefined || tokenType === null || tokenType.toLowerCase() === 'bearer') return 'Bearer'
  return tokenType
}

export function normalizeScope(scope: string | null | undefined): string {
  if (scope === undefined || scope === null) return ''
  return [...new Set(scope.split(/[\s,]+/).filter((part) => part !== ''))].join(' ')
}

function expiresAt(expiresIn: number | string | null | undefined, issuedAt: Date): Date | null {
  if (expiresIn === undefined || expiresIn === null) return null
  const seconds = typeof expiresIn === 'number' ? expiresIn : Number.parseInt(expiresIn.trim(), 10)
  return new Date(issuedAt.getTime() + seconds * 1000)
}
