/**
 * The one error taxonomy of the service. Every failure a caller can see is a VaultError with a stable
 * `code`; the HTTP error handler maps it to a status and a body. Messages are written for humans and never
 * contain secret material: callers' input is never echoed back.
 */
export const ERROR_CODES = [
  // request shape
  'request.invalid',
  'request.invalid_json',
  'request.body_too_large',
  'request.unsupported_media_type',
  'request.method_not_allowed',
  'request.uri_too_long',
  'request.headers_too_large',
  'request.timeout',
  'request.malformed',
  'route.not_found',
  // authentication and authorization
  'auth.missing_token',
  'auth.invalid_token',
  'auth.insufficient_scope',
  'auth.tenant_forbidden',
  // token sets
  'token_set.not_found',
  'token_set.reconnect_required',
  'token_set.insufficient_scope',
  // connectors and their providers
  'connector.not_found',
  'connector.endpoint_changed',
  'egress.refused',
  'provider.unavailable',
  'provider.refresh_rejected',
  'provider.egress_refused',
  // users' secrets and MFA
  'user_secret.not_found',
  'mfa.factor_not_found',
  'mfa.code_invalid',
  'mfa.locked',
  'webhook.not_found',
  // keys and crypto
  'crypto.integrity',
  'key.unavailable',
  'key.unknown_root_key',
  'key.provider_misconfigured',
  // generic
  'service.unavailable',
  'internal',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

const statusByCode: Record<ErrorCode, number> = {
  'request.invalid': 400,
  'request.invalid_json': 400,
  'request.body_too_large': 413,
  'request.unsupported_media_type': 415,
  'request.method_not_allowed': 405,
  'request.uri_too_long': 414,
  'request.headers_too_large': 431,
  'request.timeout': 408,
  'request.malformed': 400,
  'route.not_found': 404,
  'auth.missing_token': 401,
  'auth.invalid_token': 401,
  'auth.insufficient_scope': 403,
  'auth.tenant_forbidden': 403,
  'token_set.not_found': 404,
  'token_set.reconnect_required': 409,
  'token_set.insufficient_scope': 409,
  'connector.not_found': 404,
  'connector.endpoint_changed': 409,
  'egress.refused': 400,
  'provider.unavailable': 503,
  'provider.refresh_rejected': 502,
  'provider.egress_refused': 502,
  'user_secret.not_found': 404,
  'mfa.factor_not_found': 404,
  'mfa.code_invalid': 422,
  'mfa.locked': 429,
  'webhook.not_found': 404,
  'crypto.integrity': 500,
  'key.unavailable': 503,
  'key.unknown_root_key': 500,
  'key.provider_misconfigured': 500,
  'service.unavailable': 503,
  internal: 500,
}

/** What each code means to a caller; rendered into openapi.yaml next to the code enum. */
export const ERROR_DESCRIPTIONS: Record<ErrorCode, string> = {
  'request.invalid': 'A path parameter, query parameter, field or combination is invalid; `issues` says which',
  'request.invalid_json': 'The body is not JSON',
  'request.body_too_large': 'The body exceeds the configured limit',
  'request.unsupported_media_type': 'The body is not application/json',
  'request.method_not_allowed': 'The route exists but not with this method; `Allow` lists the methods it has',
  'request.uri_too_long': 'A path segment is longer than any valid id',
  'request.headers_too_large': 'The request headers are larger than the server accepts',
  'request.timeout': 'The whole request (headers and body) did not arrive within the configured time',
  'request.malformed': 'The request is not valid HTTP',
  'route.not_found': 'No such route',
  'auth.missing_token': 'No bearer token',
  'auth.invalid_token': 'Bad signature, algorithm, issuer, audience or kid, or expired / not yet valid',
  'auth.insufficient_scope': "The token lacks the route's scope (named in WWW-Authenticate)",
  'auth.tenant_forbidden': 'The token is bound to other tenants',
  'token_set.not_found': 'Nothing is stored for this connection',
  'token_set.reconnect_required':
    'The access token expired and cannot be refreshed, or the provider revoked the grant: ask the user to connect again',
  'token_set.insufficient_scope': 'The user granted fewer scopes than required_scopes; `issues` names the missing ones',
  'connector.not_found': 'No refresh settings are registered for this connector',
  'connector.endpoint_changed':
    "The connector's token endpoint or issuer is not the one this refresh token was issued by; it is never sent elsewhere: ask the user to connect again, or have an operator re-bind after a real endpoint move",
  'egress.refused':
    'The URL is one the vault never sends secrets to (internal, private, link-local or metadata address, user info, plain http); `issues` names the rule',
  'provider.unavailable': 'The provider could not refresh the token right now; retry after Retry-After',
  'provider.refresh_rejected': "The provider refused the connector's refresh request: fix the connector's refresh settings",
  'provider.egress_refused': "The provider's address resolved to one the egress policy refuses; nothing was sent",
  'user_secret.not_found': 'The user has no secret of this name',
  'mfa.factor_not_found': 'The user has no such factor: nothing bound, or the enrolment expired or was replaced (generate again)',
  'mfa.code_invalid':
    'The code is wrong, outside the accepted window, or already used; it counts towards the lockout. Which of these is never said',
  'mfa.locked': "Too many codes in a row failed: the user's MFA is locked until Retry-After, whatever the code",
  'webhook.not_found': 'The tenant has no webhook endpoint with this id',
  'crypto.integrity': 'A stored secret failed its integrity check (tampered or moved)',
  'key.unavailable': 'The key provider cannot be reached right now; retry',
  'key.unknown_root_key': 'A data key is wrapped by a root key that is not configured',
  'key.provider_misconfigured': 'The key provider refuses (access denied, key disabled or missing)',
  'service.unavailable':
    "Retry after Retry-After: the issuer's keys cannot be fetched, the audit trail cannot be written, or the service is overloaded",
  internal: 'Anything else; the message is generic',
}

export interface ValidationIssue {
  path: string
  message: string
}

export class VaultError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly issues: ValidationIssue[] | undefined
  readonly retryAfterSeconds: number | undefined
  /** RFC 6750 challenge for 401/403 responses. */
  readonly wwwAuthenticate: string | undefined

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; issues?: ValidationIssue[]; retryAfterSeconds?: number; wwwAuthenticate?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'VaultError'
    this.code = code
    this.statusCode = statusByCode[code]
    this.issues = options.issues
    this.retryAfterSeconds = options.retryAfterSeconds
    this.wwwAuthenticate = options.wwwAuthenticate
  }
}

/**
 * The single error every failed decryption becomes, whatever went wrong (tag mismatch, truncated blob,
 * unknown format, wrong associated data, wrong key). Distinguishing them would hand an attacker an oracle.
 */
export class IntegrityError extends VaultError {
  constructor() {
    super('crypto.integrity', 'A stored secret failed its integrity check')
    this.name = 'IntegrityError'
  }
}

export function isVaultError(error: unknown): error is VaultError {
  return error instanceof VaultError
}
