import t from 'tap'
import { buildTestApp, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, push } from '../support/http.ts'
import { CONNECTOR_CLIENT, signIn, startOpenIdProvider } from '../support/oidc-provider.ts'

/**
 * End to end with a real OpenID Provider: a user signs in through the authorization-code flow with PKCE,
 * the identity core pushes the real token response, and the vault refreshes it at the provider, which
 * rotates refresh tokens and revokes the whole grant if a spent one is ever presented again.
 */
const database = await openTestDatabase(t)

t.test('sign in, store, expire, 50 concurrent reads → one refresh; revoke → reconnect', async (t) => {
  const op = await startOpenIdProvider(t)
  const { app, clock } = await buildTestApp(t, database)
  const tenant = uniqueTenant('e2e')
  const ref = { tenant, type: 'enterprise_sso', connector: 'acme-oidc' }
  const userinfo = async (accessToken: string) =>
    (await fetch(`${op.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status

  const settings = await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/enterprise_sso/acme-oidc/refresh-settings`,
    payload: { issuer: op.issuer, client_id: CONNECTOR_CLIENT.id, client_secret: CONNECTOR_CLIENT.secret },
  })
  t.equal(settings.statusCode, 201, settings.body)

  const signedIn = await signIn(op)
  t.ok(signedIn.refresh_token, 'offline_access with consent gives a refresh token')
  const pushed = await push(app, ref, {
    issuer: op.issuer,
    provider_subject: 'alice',
    issued_at: clock.now.toISOString(),
    token_response: { ...signedIn },
  })
  t.equal(pushed.statusCode, 201, pushed.body)
  t.match(pushed.json().connection, { has_refresh_token: true, has_id_token: true, scope: 'openid offline_access profile' })

  const url = `${connectionPath(ref)}/access-token`
  const first = await app.inject({ method: 'GET', url })
  t.equal(first.json().access_token, signedIn.access_token, 'read back as pushed')
  t.equal(await userinfo(first.json().access_token), 200)

  // The vault's clock moves past the token's expiry; the provider's own clock need not.
  clock.now = new Date(clock.now.getTime() + (signedIn.expires_in! + 1) * 1000)
  const reads = await Promise.all(Array.from({ length: 50 }, () => app.inject({ method: 'GET', url })))
  t.same(new Set(reads.map((res) => res.statusCode)), new Set([200]))
  const refreshed = new Set(reads.map((res) => res.json().access_token))
  t.equal(refreshed.size, 1, 'all 50 got the same token')
  const [newToken] = refreshed
  t.not(newToken, signedIn.access_token)
  t.equal(await userinfo(newToken!), 200, 'and it is valid at the provider')
  t.same(op.refreshes, [{ ok: true }], 'exactly one refresh at the provider')

  // Again, with the rotated refresh token: had the spent one been presented, the provider would have
  // answered invalid_grant and revoked the grant.
  clock.now = new Date(clock.now.getTime() + (signedIn.expires_in! + 1) * 1000)
  const second = await app.inject({ method: 'GET', url })
  t.equal(second.statusCode, 200, second.body)
  t.not(second.json().access_token, newToken)
  t.same(op.refreshes, [{ ok: true }, { ok: true }], 'the old refresh token was never presented again')

  // The user revokes the app at the provider.
  for (const grantId of op.grantIds) await (await op.provider.Grant.find(grantId))?.destroy()
  clock.now = new Date(clock.now.getTime() + (signedIn.expires_in! + 1) * 1000)
  const revoked = await app.inject({ method: 'GET', url })
  t.equal(revoked.statusCode, 409)
  t.equal(revoked.json().code, 'token_set.reconnect_required')
  t.equal(op.refreshes.at(-1)?.error, 'invalid_grant')
  const connections = await app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/users/alice/connections` })
  t.equal(connections.json().connections[0].state, 'reauth_required')
})

t.test('unlink and re-consent revoke the refresh tokens left behind at the provider (RFC 7009 at its revocation_endpoint)', async (t) => {
  const op = await startOpenIdProvider(t)
  const { app } = await buildTestApp(t, database)
  const tenant = uniqueTenant('revoke')
  const ref = { tenant, type: 'enterprise_sso', connector: 'acme-oidc' }
  const settings = await app.inject({
    method: 'PUT',
    url: `/v1/tenants/${tenant}/connectors/enterprise_sso/acme-oidc/refresh-settings`,
    payload: { issuer: op.issuer, client_id: CONNECTOR_CLIENT.id, client_secret: CONNECTOR_CLIENT.secret },
  })
  t.equal(settings.statusCode, 201, settings.body)
  const active = async (refreshToken: string) => {
    const res = await fetch(`${op.issuer}/token/introspection`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${CONNECTOR_CLIENT.id}:${CONNECTOR_CLIENT.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: refreshToken, token_type_hint: 'refresh_token' }),
    })
    return ((await res.json()) as { active: boolean }).active
  }
  const pushSignIn = async () => {
    const signedIn = await signIn(op)
    const pushed = await push(app, ref, { issuer: op.issuer, provider_subject: 'alice', token_response: { ...signedIn } })
    t.ok(pushed.statusCode === 201 || pushed.statusCode === 200, pushed.body)
    return signedIn.refresh_token!
  }

  const first = await pushSignIn()
  t.equal(await active(first), true)
  const second = await pushSignIn()
  t.same(await app.server.revocations.revokeDue(), ['revoked'], 're-consent: the replaced grant is revoked')
  t.equal(await active(first), false, 'the first refresh token is dead at the provider')
  t.equal(await active(second), true, 'the one the vault holds is not')

  const unlinked = await app.inject({ method: 'DELETE', url: connectionPath(ref) })
  t.same(unlinked.json(), { deleted: 1, revocations_scheduled: 1 })
  t.same(await app.server.revocations.revokeDue(), ['revoked'])
  t.equal(await active(second), false, 'unlinked: revoked at the provider')
})
