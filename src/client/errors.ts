import type { components } from './schema.ts'

/** The vault's own error codes, as openapi.yaml declares them. */
export type VaultErrorCode = components['schemas']['ErrorCode']

/** Failures on the client's side of the wire, before or instead of a vault answer. */
export type ClientErrorCode =
  /** The identity platform refused the client credentials (wrong id or secret, scope not allowed). */
  | 'client.credentials_rejected'
  /** The identity platform's token endpoint could not be reached or answered with a server error. */
  | 'client.token_endpoint_unavailable'
  /** The vault could not be reached: the connection was refused or reset, the name did not resolve, it timed out. */
  | 'client.vault_unreachable'
  /** The vault answered with something that is not a vault error (a proxy's page, a truncated body). */
  | 'client.unexpected_response'
  /** A path parameter would change the route ("", "." or ".." are resolved away by URL rules): nothing was sent. */
  | 'client.invalid_argument'

export interface VaultErrorIssue {
  path: string
  message: string
}

/**
 * Every failure of a client call. `code` is the vault's stable error code (switch on it), or a `client.*`
 * code when the vault never answered. Never carries a token or a secret.
 */
export class VaultClientError extends Error {
  readonly code: VaultErrorCode | ClientErrorCode
  /** HTTP status of the vault's answer; 0 when there was none. */
  readonly status: number
  readonly requestId: string | undefined
  readonly issues: readonly VaultErrorIssue[]
  /** From Retry-After, when the vault says the call may be retried. */
  readonly retryAfterSeconds: number | undefined

  constructor(
    code: VaultErrorCode | ClientErrorCode,
    message: string,
    details: { status?: number; requestId?: string; issues?: readonly VaultErrorIssue[]; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause })
    this.name = 'VaultClientError'
    this.code = code
    this.status = details.status ?? 0
    this.requestId = details.requestId
    this.issues = details.issues ?? []
    this.retryAfterSeconds = details.retryAfterSeconds
  }

  /**
   * Whether the same call may succeed later without any change: a 503 (with Retry-After), a vault or token
   * endpoint that could not be reached, or a gateway's 502/504 page in front of a vault that is down.
   */
  get retryable(): boolean {
    if (this.status === 503) return true
    if (this.code === 'client.token_endpoint_unavailable' || this.code === 'client.vault_unreachable') return true
    return this.code === 'client.unexpected_response' && (this.status === 502 || this.status === 504)
  }
}
