import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import { ALL_SCOPES } from '../../src/auth/scopes.ts'

/** A stand-in for the identity platform: signs client-credentials access tokens with keys it publishes. */
export interface TestIssuer {
  issuer: string
  audience: string
  jwks: { keys: JWK[] }
  signingKey: { privateKey: CryptoKey; publicJwk: JWK; kid: string }
  mint(claims?: Record<string, unknown>, options?: MintOptions): Promise<string>
  /** Adds a new signing key and publishes it; later tokens are signed with it. */
  rotate(): Promise<void>
}

export interface MintOptions {
  issuer?: string
  audience?: string
  expiresIn?: number
  notBefore?: number
  kid?: string
  privateKey?: CryptoKey
  /** Seconds from now of the iat claim (default 0). */
  issuedAt?: number
  /** The header's typ (default at+jwt); null leaves it out. */
  typ?: string | null
}

async function newKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }, kid }
}

export async function createTestIssuer(issuer = 'https://identity.test/oidc'): Promise<TestIssuer> {
  let generation = 1
  const state = { signingKey: await newKey('key-1') }
  const jwks = { keys: [state.signingKey.publicJwk] }
  return {
    issuer,
    audience: 'secret-vault',
    jwks,
    get signingKey() {
      return state.signingKey
    },
    async mint(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000)
      const jwt = new SignJWT({ client_id: 'identity-core', scope: ALL_SCOPES.join(' '), ...claims })
        .setProtectedHeader({
          alg: 'ES256',
          kid: options.kid ?? state.signingKey.kid,
          ...(options.typ === null ? {} : { typ: options.typ ?? 'at+jwt' }),
        })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? 'secret-vault')
        .setIssuedAt(now + (options.issuedAt ?? 0))
        .setExpirationTime(now + (options.expiresIn ?? 300))
      if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore)
      return jwt.sign(options.privateKey ?? state.signingKey.privateKey)
    },
    async rotate() {
      generation += 1
      state.signingKey = await newKey(`key-${generation}`)
      jwks.keys.push(state.signingKey.publicJwk)
    },
  }
}
