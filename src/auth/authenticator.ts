import { decodeJwt, type JWTPayload, type JWTVerifyGetKey, errors as joseErrors, jwtVerify } from 'jose'
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
  /** Longest accepted lifetime: exp − iat, and exp from now. A stolen token must not be good for years. */
  maxTokenLifetimeSeconds: number
  /** RFC 9068: accept only tokens whose header says typ at+jwt (application/at+jwt). */
  requireAccessTokenType: boolean
}

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Caller>
}

const REALM = 'secret-vault'

/**
 * Why a caller's token was refused, for the operator: logged at info and counted by reason. The caller
 * always gets the same generic message, so none of this is an oracle for it.
 */
const REFUSAL_REASONS = [
  'missing',
  'malformed_header',
  'malformed_token',
  'bad_signature',
  'algorithm_not_allowed',
  'unknown_key',
  'wrong_issuer',
  'wrong_audience',
  'expired',
  'not_yet_valid',
  'issued_in_future',
  'lifetime_too_long',
  'wrong_type',
  'id_token',
  'no_client',
  'insufficient_scope',
  'tenant_forbidden',
] as const
export type RefusalReason = (typeof REFUSAL_REASONS)[number]

/** A refused caller: the error the caller sees, the reason the operator sees. */
export class CallerRefused extends VaultError {
  readonly reason: RefusalReason
  /** The token's client id when one could be read (unverified: for the log only). */
  readonly clientId: string | undefined
  constructor(error: VaultError, reason: RefusalReason, clientId?: string) {
    super(error.code, error.message, {
      ...(error.wwwAuthenticate === undefined ? {} : { wwwAuthenticate: error.wwwAuthenticate }),
      ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    })
    this.reason = reason
    this.clientId = clientId
  }
}

/** Claims only an ID token carries (OIDC Core §2, §3.3.2.11): a token with one of them is not an access token. */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'] as const
const ACCESS_TOKEN_TYPE = /^(application\/)?at\+jwt$/i

function missingToken(): VaultError {
  return new VaultError('auth.missing_token', 'An access token is required (Authorization: Bearer <token>)', {
    wwwAuthenticate: `Bearer realm="${REALM}"`,
  })
}

function invalidToken(message: string): VaultError {
  return new VaultError('auth.invalid_token', message, {
    wwwAuthenticate: `Bearer realm="${REALM}", error="invalid_token"`,
  })
}

export function insufficientScope(scope: Scope, clientId: string): VaultError {
  const error = new VaultError('auth.insufficient_scope', `The access token lacks the scope ${scope}`, {
    wwwAuthenticate: `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"`,
  })
  return new CallerRefused(error, 'insufficient_scope', clientId)
}

export function tenantForbidden(clientId: string): VaultError {
  return new CallerRefused(
    new VaultError('auth.tenant_forbidden', 'The access token is not valid for this tenant'),
    'tenant_forbidden',
    clientId,
  )
}

/** jose's refusal, as the reason an operator can act on. */
function reasonOf(error: unknown): RefusalReason {
  if (error instanceof joseErrors.JWTExpired) return 'expired'
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'wrong_issuer'
    if (error.claim === 'aud') return 'wrong_audience'
    if (error.claim === 'nbf') return 'not_yet_valid'
    if (error.claim === 'iat') return 'issued_in_future'
    return 'malformed_token'
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature'
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm_not_allowed'
  if (error instanceof joseErrors.JWKSNoMatchingKey || error instanceof joseErrors.JWKSMultipleMatchingKeys) return 'unknown_key'
  return 'malformed_token'
}

/** The client id a token claims, without trusting it: it only labels the operator's log line. */
function claimedClientId(token: string): string | undefined {
  try {
    const payload = decodeJwt(token)
    const id = [payload.client_id, payload.azp, payload.sub].find((v): v is string => typeof v === 'string')
    return id === undefined ? undefined : id.slice(0, 128)
  } catch {
    return undefined
  }
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
  const toleranceMs = options.clockToleranceSeconds * 1000
  const maxLifetimeMs = options.maxTokenLifetimeSeconds * 1000
  // Only successes are kept, each no longer than the token's own exp: a refusal is always re-checked.
  const verified = cacheMs > 0 ? new LRUCache<string, Caller>({ max: 10_000, ttl: cacheMs, ttlAutopurge: false }) : undefined

  async function verify(token: string): Promise<Caller> {
    const refuse = (message: string, reason: RefusalReason) => new CallerRefused(invalidToken(message), reason, claimedClientId(token))
    let payload: JWTPayload
    let header: { typ?: string | undefined }
    try {
      ;({ payload, protectedHeader: header } = await jwtVerify(token, options.keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: [...options.algorithms],
        clockTolerance: options.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }))
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw refuse('The access token has expired', 'expired')
      if (keySetUnavailable(error)) {
        // The issuer's keys could not be fetched: the caller's token may be fine, so ask it to retry.
        throw new VaultError('service.unavailable', 'The token signing keys cannot be fetched right now', {
          retryAfterSeconds: 5,
          cause: error,
        })
      }
      throw refuse('The access token is not valid', reasonOf(error))
    }
    // What jose leaves to the verifier: when the token says it was issued, how long it lives, what it is.
    const now = Date.now()
    const issuedAt = typeof payload.iat === 'number' ? payload.iat * 1000 : undefined
    const expiresAt = payload.exp! * 1000
    if (issuedAt !== undefined && issuedAt > now + toleranceMs) throw refuse('The access token is not valid yet', 'issued_in_future')
    if ((issuedAt !== undefined && expiresAt - issuedAt > maxLifetimeMs) || expiresAt - now > maxLifetimeMs + toleranceMs) {
      throw refuse('The access token lives longer than this service accepts', 'lifetime_too_long')
    }
    if (ID_TOKEN_CLAIMS.some((claim) => claim in payload) || header.typ?.toLowerCase() === 'id_token') {
      throw refuse('An ID token is not an access token', 'id_token')
    }
    if (options.requireAccessTokenType && !ACCESS_TOKEN_TYPE.test(header.typ ?? '')) {
      throw refuse('The token is not an access token (typ must be at+jwt)', 'wrong_type')
    }
    const clientId = [payload.client_id, payload.azp, payload.sub].find((v): v is string => typeof v === 'string')
    if (clientId === undefined) throw refuse('The access token names no client', 'no_client')
    const caller: Caller = { clientId, scopes: scopesOf(payload), tenants: tenantsOf(payload, options.tenantClaim) }
    const untilExpiry = expiresAt - now
    if (verified !== undefined && untilExpiry > 0) verified.set(token, caller, { ttl: Math.min(cacheMs, untilExpiry) })
    return caller
  }

  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization.trim() === '') throw new CallerRefused(missingToken(), 'missing')
      const match = /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)[ ]*$/i.exec(authorization)
      if (match === null) throw new CallerRefused(invalidToken('The Authorization header must be "Bearer <token>"'), 'malformed_header')
      return verified?.get(match[1]!) ?? verify(match[1]!)
    },
  }
}
