import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRemoteJWKSet } from 'jose'
import t from 'tap'
import { createAuthenticator } from '../../src/auth/authenticator.ts'
import { createTestIssuer } from '../support/test-issuer.ts'

/** The issuer's JWKS served over HTTP, as an identity platform publishes it. */
const issuer = await createTestIssuer()
let fetches = 0
let available = true
const server = createServer((_request, response) => {
  fetches += 1
  if (!available) {
    response.writeHead(503).end()
    return
  }
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(issuer.jwks))
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
t.teardown(() => server.close())
const jwksUrl = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`)

const authenticator = createAuthenticator({
  keys: createRemoteJWKSet(jwksUrl, { cooldownDuration: 0 }),
  issuer: issuer.issuer,
  audience: issuer.audience,
  algorithms: ['ES256'],
  clockToleranceSeconds: 5,
  maxTokenLifetimeSeconds: 86_400,
  requireAccessTokenType: false,
  tenantClaim: 'tenant_ids',
})

t.test('keys are fetched once and cached', async (t) => {
  const token = await issuer.mint()
  await authenticator.authenticate(`Bearer ${token}`)
  await authenticator.authenticate(`Bearer ${token}`)
  await authenticator.authenticate(`Bearer ${await issuer.mint()}`)
  t.equal(fetches, 1)
})

t.test('a rotated signing key is picked up without restart, on its first unknown kid', async (t) => {
  await issuer.rotate()
  const caller = await authenticator.authenticate(`Bearer ${await issuer.mint({ client_id: 'after-rotation' })}`)
  t.equal(caller.clientId, 'after-rotation')
  t.equal(fetches, 2, 'one refetch for the new kid')
})

t.test('an unreachable JWKS is a retryable 503, not a verdict on the token', async (t) => {
  available = false
  await issuer.rotate()
  await t.rejects(authenticator.authenticate(`Bearer ${await issuer.mint()}`), { code: 'service.unavailable', retryAfterSeconds: 5 })
  available = true
})

t.test('a kid the issuer never published stays refused after a refetch', async (t) => {
  await t.rejects(authenticator.authenticate(`Bearer ${await issuer.mint({}, { kid: 'never-published' })}`), { code: 'auth.invalid_token' })
})
