import { LRUCache } from 'lru-cache'
import * as oauth from 'oauth4webapi'
import type { ClientAuthMethod } from '../db/schema.ts'
import { type EgressPolicy, type EgressRule, egressRefusal } from '../egress/egress-policy.ts'
import { inSpan } from '../observability/tracing.ts'
import { type TokenResponse, tokenResponseSchema } from './token-response.ts'

/** Everything one refresh_token grant needs, secrets opened just for it. */
export interface RefreshGrant {
  tokenEndpoint: string | null
  /** With no token endpoint, the endpoint is discovered from here (OpenID Connect Discovery). */
  issuer: string | null
  clientId: string
  clientAuthMethod: ClientAuthMethod
  clientSecret: string | null
  extraParams: Record<string, string>
  refreshToken: string
}

/**
 * What the provider said, reduced to what the vault acts on. Only `invalid_grant` means the user's grant is
 * gone; anything transient leaves the stored set alone; a refusal of the client is the connector's
 * configuration, not the user's problem. `reason` is a fixed vocabulary (an OAuth error code from a known
 * list, or a kind of failure), never provider text, which can echo what it was sent.
 */
export type RefreshOutcome =
  | { kind: 'tokens'; response: TokenResponse }
  | { kind: 'invalid_grant' }
  /** retryAfterSeconds: the provider's Retry-After (RFC 9110 §10.2.3), when it sent a usable one. */
  | { kind: 'unavailable'; reason: string; retryAfterSeconds?: number }
  | { kind: 'rejected'; reason: string }
  /** The egress policy refused the address (at registration, after discovery, or at connect time): nothing was sent. */
  | { kind: 'refused_by_policy'; rule: EgressRule }

/** Everything one RFC 7009 revocation of a refresh token needs, secrets opened just for it. */
export interface RevocationGrant {
  /** Null: the one the issuer's discovery document names, if any. */
  revocationEndpoint: string | null
  issuer: string | null
  clientId: string
  clientAuthMethod: ClientAuthMethod
  clientSecret: string | null
  refreshToken: string
}

/** What the provider said to a revocation; `reason` is a fixed vocabulary, as for a refresh. */
export type RevocationOutcome =
  | { kind: 'revoked' }
  /** Neither the connector nor the issuer's discovery names a revocation endpoint. */
  | { kind: 'no_endpoint' }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'rejected'; reason: string }
  | { kind: 'refused_by_policy'; rule: EgressRule }

export interface ProviderClient {
  refresh(grant: RefreshGrant): Promise<RefreshOutcome>
  /** Revokes a refresh token (RFC 7009, token_type_hint refresh_token), authenticated as a refresh is. */
  revoke(grant: RevocationGrant): Promise<RevocationOutcome>
}

export interface ProviderClientOptions {
  timeoutMs: number
  /** Every exchange goes through it: it decides which addresses may be reached, http included. */
  egress: Pick<EgressPolicy, 'fetch' | 'urlRule'>
  discoveryTtlMs?: number
}

const KNOWN_OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  // RFC 7009 §2.2.1: the server does not revoke this kind of token.
  'unsupported_token_type',
  // GitHub answers a spent or revoked refresh token with 200 and this code.
  'bad_refresh_token',
])

/** Provider errors that mean the grant itself is gone and the user has to connect again. */
const GRANT_GONE = new Set(['invalid_grant', 'bad_refresh_token'])
const TRANSIENT = new Set(['server_error', 'temporarily_unavailable'])

class ProviderFailure extends Error {
  readonly outcome: RefreshOutcome & { kind: 'unavailable' | 'rejected' | 'refused_by_policy' }
  constructor(outcome: RefreshOutcome & { kind: 'unavailable' | 'rejected' | 'refused_by_policy' }) {
    super(outcome.kind)
    this.outcome = outcome
  }
}

export function createProviderClient({ timeoutMs, egress, discoveryTtlMs = 60 * 60 * 1000 }: ProviderClientOptions): ProviderClient {
  // The egress policy is the one home of "which URLs": oauth4webapi's own http check is left to it.
  const httpOptions = () => ({
    signal: AbortSignal.timeout(timeoutMs),
    [oauth.allowInsecureRequests]: true,
    [oauth.customFetch]: egress.fetch,
  })
  /** Refuses, before anything is sent, a URL the policy refuses (stored before a policy change, or discovered). */
  const admit = (url: string) => {
    const rule = egress.urlRule(url)
    if (rule !== undefined) throw new ProviderFailure({ kind: 'refused_by_policy', rule })
  }

  // Discovered metadata is shared by every connector of an issuer; concurrent misses fetch once.
  const discovered = new LRUCache<string, oauth.AuthorizationServer>({
    max: 1000,
    ttl: discoveryTtlMs,
    fetchMethod: async (issuer) => {
      admit(issuer)
      const issuerUrl = new URL(issuer)
      const response = await send('discovery', issuerUrl, () => oauth.discoveryRequest(issuerUrl, { ...httpOptions(), algorithm: 'oidc' }))
      if (isTransient(response)) throw new ProviderFailure({ kind: 'unavailable', reason: `discovery_http_${response.status}` })
      try {
        return await oauth.processDiscoveryResponse(issuerUrl, response)
      } catch {
        throw new ProviderFailure({ kind: 'rejected', reason: 'discovery_invalid' })
      }
    },
  })

  async function authorizationServer(grant: RefreshGrant): Promise<oauth.AuthorizationServer> {
    if (grant.tokenEndpoint !== null) {
      admit(grant.tokenEndpoint)
      // The issuer only names the server here; the vault does not validate ID tokens (apps that use them do).
      return { issuer: grant.issuer ?? new URL(grant.tokenEndpoint).origin, token_endpoint: grant.tokenEndpoint }
    }
    const server = await discovered.fetch(grant.issuer!)
    if (server?.token_endpoint === undefined) throw new ProviderFailure({ kind: 'rejected', reason: 'no_token_endpoint' })
    // A discovery document can name any endpoint: it passes the same policy as a registered one.
    admit(server.token_endpoint)
    return server
  }

  return {
    async refresh(grant) {
      try {
        const server = await authorizationServer(grant)
        const response = await send('refresh_token', new URL(server.token_endpoint!), () =>
          oauth.refreshTokenGrantRequest(server, { client_id: grant.clientId }, clientAuthentication(grant), grant.refreshToken, {
            ...httpOptions(),
            additionalParameters: grant.extraParams,
          }),
        )
        return await readTokenResponse(response)
      } catch (error) {
        if (error instanceof ProviderFailure) return error.outcome
        throw error
      }
    },

    async revoke(grant) {
      try {
        const endpoint =
          grant.revocationEndpoint ?? (grant.issuer === null ? undefined : (await discovered.fetch(grant.issuer))?.revocation_endpoint)
        if (endpoint === undefined) return { kind: 'no_endpoint' }
        // A discovered endpoint passes the same policy as a registered one.
        admit(endpoint)
        const server: oauth.AuthorizationServer = { issuer: grant.issuer ?? new URL(endpoint).origin, revocation_endpoint: endpoint }
        const response = await send('revocation', new URL(endpoint), () =>
          oauth.revocationRequest(server, { client_id: grant.clientId }, clientAuthentication(grant), grant.refreshToken, {
            ...httpOptions(),
            additionalParameters: { token_type_hint: 'refresh_token' },
          }),
        )
        // RFC 7009 §2.2: 200 whether or not the token was still valid; 503 (and throttling) means try later.
        if (response.status === 200 || isTransient(response)) {
          await response.body?.cancel().catch(() => undefined)
          return response.status === 200 ? { kind: 'revoked' } : { kind: 'unavailable', reason: `http_${response.status}` }
        }
        const body: unknown = await response.json().catch(() => undefined)
        return { kind: 'rejected', reason: oauthErrorCode(body) ?? `http_${response.status}` }
      } catch (error) {
        if (error instanceof ProviderFailure) {
          const outcome = error.outcome
          return outcome.kind === 'refused_by_policy'
            ? outcome
            : outcome.kind === 'unavailable'
              ? { kind: 'unavailable', reason: outcome.reason }
              : { kind: 'rejected', reason: outcome.reason }
        }
        throw error
      }
    },
  }
}

function clientAuthentication(grant: Pick<RefreshGrant, 'clientAuthMethod' | 'clientSecret'>): oauth.ClientAuth {
  switch (grant.clientAuthMethod) {
    case 'client_secret_basic':
      return oauth.ClientSecretBasic(grant.clientSecret!)
    case 'client_secret_post':
      return oauth.ClientSecretPost(grant.clientSecret!)
    case 'none':
      return oauth.None()
  }
}

/** A provider that is down or throttling: try again later, change nothing. */
function isTransient(response: Response): boolean {
  return response.status >= 500 || response.status === 429
}

/**
 * Runs one HTTP exchange, in a span that names the exchange and the provider's host (never the URL's path or
 * query, the request or the answer); network failures and timeouts become "unavailable".
 */
async function send(exchange: 'discovery' | 'refresh_token' | 'revocation', url: URL, request: () => Promise<Response>): Promise<Response> {
  try {
    return await inSpan(`oauth ${exchange}`, { 'server.address': url.hostname, 'secret_vault.oauth.exchange': exchange }, async (span) => {
      const response = await request()
      span.setAttribute('http.response.status_code', response.status)
      return response
    })
  } catch (error) {
    if (error instanceof ProviderFailure) throw error
    const refused = egressRefusal(error)
    if (refused !== undefined) throw new ProviderFailure({ kind: 'refused_by_policy', rule: refused.rule })
    const name = (error as Error).name
    throw new ProviderFailure({ kind: 'unavailable', reason: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network' })
  }
}

/**
 * Reads the token endpoint's answer without trusting it: the body is parsed here, not passed on, so a
 * rotated refresh token is never dropped because some other part of the response was unexpected.
 */
async function readTokenResponse(response: Response): Promise<RefreshOutcome> {
  let body: unknown
  try {
    body = await response.json()
  } catch {
    body = undefined
  }
  const errorCode = oauthErrorCode(body)
  if (isTransient(response)) {
    const retryAfterSeconds = retryAfterOf(response)
    return { kind: 'unavailable', reason: `http_${response.status}`, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) }
  }
  if (errorCode !== undefined) {
    if (GRANT_GONE.has(errorCode)) return { kind: 'invalid_grant' }
    if (TRANSIENT.has(errorCode)) return { kind: 'unavailable', reason: errorCode }
    return { kind: 'rejected', reason: errorCode }
  }
  if (response.status !== 200) return { kind: 'rejected', reason: `http_${response.status}` }
  const parsed = tokenResponseSchema.safeParse(body)
  if (!parsed.success) return { kind: 'rejected', reason: 'malformed_response' }
  return { kind: 'tokens', response: parsed.data }
}

/** Retry-After as delay-seconds or an HTTP date; anything else (or a date in the past) is no advice. */
export function retryAfterOf(response: Pick<Response, 'headers'>, now = Date.now()): number | undefined {
  const value = response.headers.get('retry-after')?.trim()
  if (value === undefined || value === '') return undefined
  if (/^\d{1,10}$/.test(value)) return Number(value)
  const at = Date.parse(value)
  if (Number.isNaN(at) || at <= now) return undefined
  return Math.ceil((at - now) / 1000)
}

function oauthErrorCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined
  const code = (body as { error: unknown }).error
  if (code === undefined || code === null) return undefined
  if (typeof code !== 'string') return 'unknown_error'
  return KNOWN_OAUTH_ERRORS.has(code) ? code : 'unknown_error'
}
