import * as oauth from 'oauth4webapi'
import { VaultClientError } from './errors.ts'

/** The caller's client credentials at the identity platform (OAuth 2.0 client_credentials grant). */
export interface ClientCredentials {
  /** The platform's token endpoint; or give `issuer` to find it by discovery. */
  tokenEndpoint?: string
  issuer?: string
  clientId: string
  clientSecret: string
  /** `client_secret_basic` (default) or `client_secret_post`. */
  authMethod?: 'client_secret_basic' | 'client_secret_post'
  /** The scopes to ask for, e.g. `token_sets:read`. */
  scope?: string
  /** RFC 8707 resource indicator naming the vault, where the platform wants one. */
  resource?: string
}

export interface TokenSourceOptions {
  credentials: ClientCredentials
  /** Renew this long before the token expires (default 60 s). */
  renewBeforeMs: number
  /** Plain-http token endpoints (development only). */
  allowInsecureRequests: boolean
  fetch: typeof fetch
  now: () => number
}

export interface TokenSource {
  /** A valid access token: cached, renewed before expiry, one fetch however many callers wait. */
  get(): Promise<string>
  /** The vault refused this token: the next get() fetches a new one (unless that already happened). */
  invalidate(token: string): void
}

/** When the platform omits expires_in, the token is renewed after this long. */
const DEFAULT_LIFETIME_MS = 5 * 60 * 1000

export function createTokenSource({ credentials, renewBeforeMs, allowInsecureRequests, fetch, now }: TokenSourceOptions): TokenSource {
  if ((credentials.tokenEndpoint === undefined) === (credentials.issuer === undefined)) {
    throw new TypeError('give exactly one of tokenEndpoint and issuer')
  }
  const http = { [oauth.allowInsecureRequests]: allowInsecureRequests, [oauth.customFetch]: fetch }
  const client: oauth.Client = { client_id: credentials.clientId }
  const clientAuth =
    credentials.authMethod === 'client_secret_post'
      ? oauth.ClientSecretPost(credentials.clientSecret)
      : oauth.ClientSecretBasic(credentials.clientSecret)
  let server: oauth.AuthorizationServer | undefined
  let cached: { token: string; renewAt: number } | undefined
  let inFlight: Promise<string> | undefined

  async function authorizationServer(): Promise<oauth.AuthorizationServer> {
    if (server !== undefined) return server
    if (credentials.tokenEndpoint !== undefined) {
      server = { issuer: new URL(credentials.tokenEndpoint).origin, token_endpoint: credentials.tokenEndpoint }
    } else {
      const issuer = new URL(credentials.issuer!)
      server = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...http, algorithm: 'oidc' }))
    }
    return server
  }

  async function fetchToken(): Promise<string> {
    const parameters: Record<string, string> = {}
    if (credentials.scope !== undefined) parameters.scope = credentials.scope
    if (credentials.resource !== undefined) parameters.resource = credentials.resource
    const requestedAt = now()
    let result: oauth.TokenEndpointResponse
    try {
      const as = await authorizationServer()
      const response = await oauth.clientCredentialsGrantRequest(as, client, clientAuth, parameters, http)
      result = await oauth.processClientCredentialsResponse(as, client, response)
    } catch (error) {
      // Only the status is kept: a token endpoint's text can echo what it was sent.
      const refusal =
        error instanceof oauth.ResponseBodyError || error instanceof oauth.WWWAuthenticateChallengeError ? error.status : undefined
      if (refusal !== undefined && refusal < 500 && refusal !== 429) {
        throw new VaultClientError(
          'client.credentials_rejected',
          `The identity platform refused the client credentials (HTTP ${refusal})`,
          {
            status: refusal,
          },
        )
      }
      // A response's body is not kept as the cause either; a network error is.
      const cause = refusal === undefined ? error : undefined
      throw new VaultClientError('client.token_endpoint_unavailable', "The identity platform's token endpoint could not be used", { cause })
    }
    const lifetimeMs = result.expires_in === undefined ? DEFAULT_LIFETIME_MS : result.expires_in * 1000
    // Renew before expiry, but never sooner than half-way through a short-lived token's life.
    cached = { token: result.access_token, renewAt: requestedAt + Math.max(lifetimeMs - renewBeforeMs, lifetimeMs / 2) }
    return result.access_token
  }

  return {
    get() {
      if (cached !== undefined && now() < cached.renewAt) return Promise.resolve(cached.token)
      inFlight ??= fetchToken().finally(() => {
        inFlight = undefined
      })
      return inFlight
    },
    invalidate(token) {
      if (cached?.token === token) cached = undefined
    },
  }
}
