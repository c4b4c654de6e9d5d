import type { TokenResponse } from './token-set.schemas.ts'

export interface NormalizedTokenSet {
  accessToken: string
  refreshToken: string | undefined
  idToken: string | undefined
  tokenType: string
  /** Space-separated, de-duplicated, in the provider's order. */
  scope: string
  expiresAt: Date | null
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
