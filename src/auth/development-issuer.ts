import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose'
import { ConfigError } from '../config.ts'

/**
 * The embedded default's own token issuer, so a newcomer can call the service within a minute: an ES256
 * key generated once into the data directory (mode 0600). The service trusts only its public half; the
 * `token mint` command signs with the private half. Never used when an external issuer is configured.
 */
export const DEVELOPMENT_ISSUER = 'urn:secret-vault:embedded-development-issuer'
const ALGORITHM = 'ES256'

export interface DevelopmentSigningKey {
  privateJwk: JWK
  publicJwk: JWK
}

function keyFile(dataDir: string): string {
  return path.join(dataDir, 'auth-signing-key.json')
}

export async function ensureDevelopmentSigningKey(dataDir: string): Promise<DevelopmentSigningKey & { generated: boolean }> {
  const file = keyFile(dataDir)
  if (existsSync(file)) return { ...readDevelopmentSigningKey(dataDir), generated: false }
  const { privateKey } = await generateKeyPair(ALGORITHM, { extractable: true })
  const privateJwk = { ...(await exportJWK(privateKey)), alg: ALGORITHM, kid: `dev-${Date.now().toString(36)}`, use: 'sig' }
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(file, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600, flag: 'wx' })
  return { ...readDevelopmentSigningKey(dataDir), generated: true }
}

export function readDevelopmentSigningKey(dataDir: string): DevelopmentSigningKey {
  const file = keyFile(dataDir)
  let privateJwk: JWK
  try {
    privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK
  } catch {
    throw new ConfigError(`no development signing key at ${file}: start the embedded service once to create it`)
  }
  const { d: _private, ...publicJwk } = privateJwk
  return { privateJwk, publicJwk }
}

export interface MintOptions {
  audience: string
  clientId: string
  scopes: readonly string[]
  tenants: readonly string[]
  tenantClaim: string
  ttlSeconds: number
}

export async function mintDevelopmentToken(key: DevelopmentSigningKey, options: MintOptions): Promise<string> {
  const claims: Record<string, unknown> = { scope: options.scopes.join(' '), client_id: options.clientId }
  if (options.tenants.length > 0) claims[options.tenantClaim] = [...options.tenants]
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALGORITHM, kid: key.privateJwk.kid!, typ: 'at+jwt' })
    .setIssuer(DEVELOPMENT_ISSUER)
    .setAudience(options.audience)
    .setSubject(options.clientId)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds}s`)
    .sign(await importJWK(key.privateJwk, ALGORITHM))
}
