import { randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { type DevelopmentSigningKey, mintDevelopmentToken } from './development-issuer.ts'
import { ALL_SCOPES } from './scopes.ts'

/**
 * The development issuer's OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials), so that the typed
 * client works against a fresh `npm start` with nothing configured: one development client, its secret
 * generated once into the data directory (mode 0600) and printed at start. Registered only when the
 * embedded development issuer is in use; an external issuer's deployment has no such route.
 */
export const DEVELOPMENT_TOKEN_PATH = '/dev/oauth/token'
const TOKEN_TTL_SECONDS = 3600

export interface DevelopmentClient {
  clientId: string
  clientSecret: string
}

export function ensureDevelopmentClient(dataDir: string): DevelopmentClient {
  const file = path.join(dataDir, 'dev-client.json')
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true })
    const client = { clientId: 'dev-client', clientSecret: randomBytes(24).toString('base64url') }
    writeFileSync(file, `${JSON.stringify(client)}\n`, { mode: 0o600, flag: 'wx' })
  }
  return JSON.parse(readFileSync(file, 'utf8')) as DevelopmentClient
}

const sameSecret = (given: string, expected: string) => {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The client's id and secret from HTTP Basic (form-encoded, RFC 6749 §2.3.1) or from the form. */
function clientCredentials(authorization: string | undefined, form: Record<string, string>): { id?: string; secret?: string } {
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return {}
    try {
      return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) }
    } catch {
      // Not form-encoded (a stray %): no credentials, so invalid_client rather than a 500.
      return {}
    }
  }
  return { id: form.client_id, secret: form.client_secret }
}

export async function developmentTokenEndpoint(
  app: FastifyInstance,
  options: { key: DevelopmentSigningKey; client: DevelopmentClient; audience: string; tenantClaim: string },
): Promise<void> {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
  app.post(DEVELOPMENT_TOKEN_PATH, { schema: { hide: true } }, async (request, reply) => {
    const form = (request.body ?? {}) as Record<string, string>
    // Errors in the shape RFC 6749 §5.2 gives token endpoints, which OAuth clients read.
    const refuse = (status: number, error: string, description: string) =>
      reply.code(status).type('application/json').send({ error, error_description: description })
    const { id, secret } = clientCredentials(request.headers.authorization, form)
    if (id !== options.client.clientId || secret === undefined || !sameSecret(secret, options.client.clientSecret)) {
      if (request.headers.authorization?.startsWith('Basic '))
        reply.header('www-authenticate', 'Basic realm="secret-vault development issuer"')
      return refuse(401, 'invalid_client', 'unknown client or wrong secret')
    }
    if (form.grant_type !== 'client_credentials') return refuse(400, 'unsupported_grant_type', 'only client_credentials')
    const scopes = (form.scope ?? '').split(' ').filter((scope) => scope !== '')
    const unknown = scopes.filter((scope) => !(ALL_SCOPES as readonly string[]).includes(scope))
    if (unknown.length > 0) return refuse(400, 'invalid_scope', `unknown scope(s); known: ${ALL_SCOPES.join(' ')}`)
    const granted = scopes.length > 0 ? scopes : [...ALL_SCOPES]
    const accessToken = await mintDevelopmentToken(options.key, {
      audience: options.audience,
      clientId: options.client.clientId,
      scopes: granted,
      tenants: [],
      tenantClaim: options.tenantClaim,
      ttlSeconds: TOKEN_TTL_SECONDS,
    })
    return reply.send({ access_token: accessToken, token_type: 'Bearer', expires_in: TOKEN_TTL_SECONDS, scope: granted.join(' ') })
  })
}
