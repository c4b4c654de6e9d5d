import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { LRUCache } from 'lru-cache'
import { VaultError } from '../errors.ts'
import type { Scope } from './scopes.ts'

export interface Caller {
  clientId: string
  scopes: ReadonlySet<string>
  /** The tenants the token is bound to; null when the token names none (a platform-wide client). */
  tenants: ReadonlySet<string> | null
}

export interface AuthenticatorOptions {
  keys: JWTVerifyGetKey
  issuer: string
  audience: string
  algorithms: readonly string[]
  clockToleranceSeconds: number
  tenantClaim: string
  /**
   * How long a verified token's result may be reused (never past the token's own expiry); 0 verifies every
   * request. Callers send the same token for many requests; a signature check per request costs more than
   * the rest of a read.
   */
  verifiedTokenCacheMs?: number
}

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Caller>
}

export const REALM = 'secret-vault'

export function missingToken(): VaultError {
  return new VaultError('auth.missing_token', 'An access token is required (Authorization: Bearer <token>)', {
    wwwAuthenticate: `Bearer realm="${REALM}"`,
  })
}

function invalidToken(message: string): VaultError {
  return new VaultError('auth.invalid_token', message, {
    wwwAuthenticate: `Bearer realm="${REALM}", error="invalid_token"`,
  })
}

export function insufficientScope(scope: Scope): VaultError {
  return new VaultError('auth.insufficient_scope', `The access token lacks the scope ${scope}`, {
    wwwAuthenticate: `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`,
  })
}

export function tenantForbidden(): VaultError {
  return new VaultError('auth.tenant_forbidden', 'The access token is not valid for this tenant')
}

function scopesOf(payload: JWTPayload): Set<string> {
  if (typeof payload.scope === 'string') return new Set(payload.scope.split(' ').filter((s) => s !== ''))
  if (Array.isArray(payload.scp)) return new Set(payload.scp.filter((s): s is string => typeof s === 'string'))
  return new Set()
}

function tenantsOf(payload: JWTPayload, claim: string): Set<string> | null {
  const value = payload[claim]
  if (value === undefined) return null
  if (typeof value === 'string') return new Set([value])
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return new Set(value)
  // A malformed binding must not widen access.
  return new Set()
}

/**
 * The issuer's key set could not be had (timeout, non-200, unparsable, network): that says nothing about
 * the caller's token. jose reports a non-200 answer as its generic error.
 */
function keySetUnavailable(error: unknown): boolean {
  if (!(error instanceof joseErrors.JOSEError)) return true
  return error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid || error.code === 'ERR_JOSE_GENERIC'
}

/**
 * Verifies OAuth 2.0 client-credentials access tokens (JWT): signature against the issuer's keys, an
 * allow-list of algorithms, issuer, audience, expiry and not-before with a small clock tolerance.
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const cacheMs = options.verifiedTokenCacheMs ?? 0
  // Only successes are kept, each no longer than the token's own exp: a refusal is always re-checked.
  const verified = cacheMs > 0 ? new LRUCache<string, Caller>({ max: 10_000, ttl: cacheMs, ttlAutopurge: false }) : undefined
  return {
    async authenticate(authorization) {
      const match = authorization === undefined ? null : /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)[ ]*$/i.exec(authorization)
      if (authorization === undefined || authorization.trim() === '') throw missingToken()
      if (match === null) throw invalidToken('The Authorization header must be "Bearer <token>"')
      const cached = verified?.get(match[1]!)
      if (cached !== undefined) return cached
      let payload: JWTPayload
      try {
        ;({ payload } = await jwtVerify(match[1]!, options.keys, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms: [...options.algorithms],
          clockTolerance: options.clockToleranceSeconds,
          requiredClaims: ['exp'],
        }))
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired) throw invalidToken('The access token has expired')
        if (keySetUnavailable(error)) {
          // The issuer's keys could not be fetched: the caller's token may be fine, so ask it to retry.
          throw new VaultError('service.unavailable', 'The token signing keys cannot be fetched right now', {
            retryAfterSeconds: 5,
            cause: error,
          })
        }
        throw invalidToken('The access token is not valid')
      }
      const clientId = [payload.client_id, payload.azp, payload.sub].find((v): v is string => typeof v === 'string')
      if (clientId === undefined) throw invalidToken('The access token names no client')
      const caller: Caller = { clientId, scopes: scopesOf(payload), tenants: tenantsOf(payload, options.tenantClaim) }
      const untilExpiry = payload.exp! * 1000 - Date.now()
      if (verified !== undefined && untilExpiry > 0) verified.set(match[1]!, caller, { ttl: Math.min(cacheMs, untilExpiry) })
      return caller
    },
  }
}
