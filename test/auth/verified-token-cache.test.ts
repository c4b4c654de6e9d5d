import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose'
import t from 'tap'
import { createAuthenticator } from '../../src/auth/authenticator.ts'
import { createTestIssuer } from '../support/test-issuer.ts'

const issuer = await createTestIssuer()

function countingAuthenticator(verifiedTokenCacheMs: number) {
  const jwks = createLocalJWKSet(issuer.jwks)
  const counter = { keyLookups: 0 }
  const keys: JWTVerifyGetKey = (header, token) => {
    counter.keyLookups++
    return jwks(header, token)
  }
  const authenticator = createAuthenticator({
    keys,
    issuer: issuer.issuer,
    audience: issuer.audience,
    algorithms: ['ES256'],
    clockToleranceSeconds: 0,
    maxTokenLifetimeSeconds: 86_400,
    requireAccessTokenType: false,
    tenantClaim: 'tenant_ids',
    verifiedTokenCacheMs,
  })
  return { authenticator, counter }
}

t.test('a verified token is not checked again while cached; the caller is the same', async (t) => {
  const { authenticator, counter } = countingAuthenticator(60_000)
  const header = `Bearer ${await issuer.mint({ client_id: 'account-api', scope: 'token_sets:read' })}`
  const first = await authenticator.authenticate(header)
  const second = await authenticator.authenticate(header)
  t.equal(counter.keyLookups, 1)
  t.same(second, first)
  t.equal(second.clientId, 'account-api')
})

t.test('with the cache off, every request is verified', async (t) => {
  const { authenticator, counter } = countingAuthenticator(0)
  const header = `Bearer ${await issuer.mint()}`
  await authenticator.authenticate(header)
  await authenticator.authenticate(header)
  t.equal(counter.keyLookups, 2)
})

t.test('a cached token is refused once it expires, whatever the cache time', async (t) => {
  const { authenticator } = countingAuthenticator(60_000)
  const header = `Bearer ${await issuer.mint({}, { expiresIn: 1 })}`
  await authenticator.authenticate(header)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  await t.rejects(authenticator.authenticate(header), { code: 'auth.invalid_token' })
})

t.test('refusals are never cached: a tampered token stays refused, a good one still passes', async (t) => {
  const { authenticator, counter } = countingAuthenticator(60_000)
  const token = await issuer.mint()
  const tampered = `${token.slice(0, -4)}AAAA`
  await t.rejects(authenticator.authenticate(`Bearer ${tampered}`), { code: 'auth.invalid_token' })
  await t.rejects(authenticator.authenticate(`Bearer ${tampered}`), { code: 'auth.invalid_token' })
  t.equal(counter.keyLookups, 2)
  await authenticator.authenticate(`Bearer ${token}`)
})
