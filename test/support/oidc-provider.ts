import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'
import * as client from 'openid-client'
import type { Test } from 'tap'

/**
 * A real OpenID Provider (oidc-provider) on 127.0.0.1 for end-to-end tests. Logins and consents are
 * granted by an interaction handler without a browser; refresh tokens rotate on every use; events tell
 * the test what the provider saw.
 */
export interface TestOpenIdProvider {
  issuer: string
  provider: Provider
  clients: Record<string, { secret: string }>
  /** Every refresh_token grant the provider answered, in order. */
  refreshes: Array<{ ok: boolean; error?: string }>
  /** Ids of the grants users consented to. */
  grantIds: string[]
  close(): Promise<void>
}

export interface ProviderOptions {
  /** Lifetime of the access tokens issued to machine clients (default one hour). */
  accessTokenTtlSeconds?: number
  /** The vault as a resource server: its indicator (the tokens' audience) and the scopes it knows. */
  vault?: { resource: string; scopes: readonly string[] }
  /** Client-credentials clients (machine callers of the vault): id → the scopes each may get. */
  machineClients?: Record<string, { scope: string }>
}

export const CONNECTOR_CLIENT = { id: 'vault-connector', secret: 'connector-secret-0123456789', redirectUri: 'http://127.0.0.1/callback' }

export async function startOpenIdProvider(t: Test, options: ProviderOptions = {}): Promise<TestOpenIdProvider> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'sig-1', alg: 'RS256', use: 'sig' }
  const machineClients = Object.entries(options.machineClients ?? {}).map(([id, { scope }]) => ({
    client_id: id,
    client_secret: `${id}-secret-0123456789`,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope,
  }))
  const ttl = options.accessTokenTtlSeconds ?? 3600
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CONNECTOR_CLIENT.id,
        client_secret: CONNECTOR_CLIENT.secret,
        redirect_uris: [CONNECTOR_CLIENT.redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      ...machineClients,
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: ['test-cookie-key'] },
    // The vault's scopes are listed too, so machine clients may be limited to some of them.
    scopes: ['openid', 'offline_access', 'profile', ...(options.vault?.scopes ?? [])],
    claims: { openid: ['sub'], profile: ['name'] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, name: 'Alice' }) }),
    pkce: { required: () => true },
    rotateRefreshToken: true,
    ttl: { AccessToken: 3600, ClientCredentials: ttl },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: options.vault !== undefined,
        // Machine clients get JWT access tokens for the vault; the connector's user tokens stay opaque.
        defaultResource: (_ctx, client) => (client.grantTypeAllowed('client_credentials') ? options.vault?.resource : undefined) as string,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== options.vault?.resource) throw new Error(`unknown resource ${indicator}`)
          return {
            scope: options.vault.scopes.join(' '),
            audience: indicator,
            accessTokenFormat: 'jwt',
            accessTokenTTL: ttl,
            jwt: { sign: { alg: 'RS256' } },
          }
        },
        useGrantedResource: () => true,
      },
    },
  })
  const state: TestOpenIdProvider = {
    issuer,
    provider,
    clients: Object.fromEntries(machineClients.map((c) => [c.client_id, { secret: c.client_secret }])),
    refreshes: [],
    grantIds: [],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
  provider.on('grant.success', (ctx) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') state.refreshes.push({ ok: true })
  })
  provider.on('grant.error', (ctx, error) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') state.refreshes.push({ ok: false, error: (error as { error?: string }).error })
  })

  // The "user": logs in as alice and consents to whatever the client asked, with no page in between.
  const callback = provider.callback()
  server.on('request', async (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return callback(req, res)
    try {
      const details = await provider.interactionDetails(req, res)
      if (details.prompt.name === 'login') {
        return await provider.interactionFinished(req, res, { login: { accountId: 'alice' } }, { mergeWithLastSubmission: false })
      }
      const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string })
      grant.addOIDCScope(String(details.params.scope))
      const grantId = await grant.save()
      state.grantIds.push(grantId)
      return await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
    } catch (error) {
      res.statusCode = 500
      res.end(String(error))
    }
  })
  t.teardown(() => state.close())
  return state
}

/**
 * A connector's sign-in: the authorization-code flow with PKCE, driven over HTTP with a cookie jar
 * instead of a browser. Returns the provider's real token response.
 */
export async function signIn(op: TestOpenIdProvider, scope = 'openid offline_access profile'): Promise<client.TokenEndpointResponse> {
  const config = await client.discovery(new URL(op.issuer), CONNECTOR_CLIENT.id, CONNECTOR_CLIENT.secret, undefined, {
    execute: [client.allowInsecureRequests],
  })
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  let url = client
    .buildAuthorizationUrl(config, {
      redirect_uri: CONNECTOR_CLIENT.redirectUri,
      scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      // offline_access (a refresh token) is granted only with an explicit consent prompt.
      prompt: 'consent',
      state,
    })
    .toString()
  const cookies = new Map<string, string>()
  for (let hop = 0; hop < 10; hop++) {
    if (url.startsWith(CONNECTOR_CLIENT.redirectUri)) {
      const tokens = await client.authorizationCodeGrant(config, new URL(url), { pkceCodeVerifier: verifier, expectedState: state })
      return tokens
    }
    const response = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
    })
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';')
      const [name, ...value] = pair!.split('=')
      cookies.set(name!, value.join('='))
    }
    const location = response.headers.get('location')
    if (location === null) throw new Error(`sign-in stopped at ${response.status}: ${await response.text()}`)
    url = new URL(location, url).toString()
  }
  throw new Error('sign-in did not finish')
}
