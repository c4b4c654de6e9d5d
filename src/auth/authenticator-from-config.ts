import { readFileSync } from 'node:fs'
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose'
import type { Logger } from 'pino'
import { type Config, ConfigError } from '../config.ts'
import { type Authenticator, createAuthenticator } from './authenticator.ts'
import { DEVELOPMENT_ISSUER, ensureDevelopmentSigningKey } from './development-issuer.ts'

function readJwksFile(file: string): JWTVerifyGetKey {
  try {
    return createLocalJWKSet(JSON.parse(readFileSync(file, 'utf8')) as JSONWebKeySet)
  } catch (error) {
    throw new ConfigError(`VAULT_AUTH_JWKS_FILE ${file} is not a readable JWK set (${(error as Error).name})`)
  }
}

/** The issuer's keys: a JWKS URL (cached; an unknown kid triggers a refetch) or a static JWKS file. */
export async function createAuthenticatorFromConfig(config: Config, logger: Logger): Promise<Authenticator> {
  const { auth } = config
  let keys: JWTVerifyGetKey
  let issuer: string
  if (auth.issuer !== undefined) {
    issuer = auth.issuer
    keys =
      auth.jwksUrl !== undefined
        ? createRemoteJWKSet(new URL(auth.jwksUrl), { cooldownDuration: auth.jwksCooldownMs, timeoutDuration: 5000 })
        : readJwksFile(auth.jwksFile!)
  } else {
    const key = await ensureDevelopmentSigningKey(config.dataDir)
    issuer = DEVELOPMENT_ISSUER
    keys = createLocalJWKSet({ keys: [key.publicJwk] })
    logger.warn(
      { generated: key.generated },
      '!!! DEVELOPMENT TOKEN ISSUER IN USE: callers are verified against a key in the data directory. ' +
        'Mint a token with `npm run cli -- token mint`; configure VAULT_AUTH_ISSUER and VAULT_AUTH_JWKS_URL for production. !!!',
    )
  }
  return createAuthenticator({
    keys,
    issuer,
    audience: auth.audience,
    algorithms: auth.issuer === undefined ? ['ES256'] : auth.algorithms,
    clockToleranceSeconds: auth.clockToleranceSeconds,
    maxTokenLifetimeSeconds: auth.maxTokenLifetimeSeconds,
    // The development issuer mints RFC 9068 access tokens: there the type is always checked.
    requireAccessTokenType: auth.issuer === undefined || auth.requireAccessTokenType,
    tenantClaim: auth.tenantClaim,
    verifiedTokenCacheMs: auth.verifiedTokenCacheMs,
  })
}
