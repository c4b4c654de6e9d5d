import t from 'tap'
import { normalizeScope, normalizeTokenResponse, normalizeTokenType } from '../../src/oauth/token-response.ts'

const issuedAt = new Date('2026-01-01T00:00:00Z')

t.test('GitHub: lowercase bearer, comma-separated scope, no expiry', async (t) => {
  const tokens = normalizeTokenResponse({ access_token: 'gho_x', token_type: 'bearer', scope: 'repo,gist,repo' }, issuedAt)
  t.same(tokens, {
    accessToken: 'gho_x',
    refreshToken: undefined,
    idToken: undefined,
    tokenType: 'Bearer',
    scope: 'repo gist',
    expiresAt: null,
    refreshTokenExpiresAt: null,
  })
})

t.test('GitHub Apps: refresh_token_expires_in says when the refresh token dies; without a refresh token it means nothing', async (t) => {
  const withRefresh = normalizeTokenResponse(
    { access_token: 'ghu_x', refresh_token: 'ghr_x', expires_in: 28800, refresh_token_expires_in: '15811200' },
    issuedAt,
  )
  t.equal(withRefresh.refreshTokenExpiresAt?.toISOString(), '2026-07-03T00:00:00.000Z')
  t.equal(normalizeTokenResponse({ access_token: 'a', refresh_token_expires_in: 60 }, issuedAt).refreshTokenExpiresAt, null)
  t.equal(normalizeTokenResponse({ access_token: 'a', refresh_token: 'r' }, issuedAt).refreshTokenExpiresAt, null)
})

t.test('Google: numeric expires_in, space-separated scope, id token', async (t) => {
  const tokens = normalizeTokenResponse(
    {
      access_token: 'ya29',
      token_type: 'Bearer',
      expires_in: 3599,
      scope: 'openid  email profile',
      id_token: 'eyJ',
      refresh_token: '1//r',
    },
    issuedAt,
  )
  t.equal(tokens.scope, 'openid email profile')
  t.equal(tokens.expiresAt?.toISOString(), '2026-01-01T00:59:59.000Z')
  t.equal(tokens.idToken, 'eyJ')
  t.equal(tokens.refreshToken, '1//r')
})

t.test('expires_in as a numeric string; token_type missing', async (t) => {
  const tokens = normalizeTokenResponse({ access_token: 'a', expires_in: ' 60 ' }, issuedAt)
  t.equal(tokens.expiresAt?.toISOString(), '2026-01-01T00:01:00.000Z')
  t.equal(tokens.tokenType, 'Bearer')
})

t.test('null fields are absent fields', async (t) => {
  const tokens = normalizeTokenResponse({ access_token: 'a', expires_in: null, refresh_token: null, scope: null }, issuedAt)
  t.same([tokens.expiresAt, tokens.refreshToken, tokens.scope], [null, undefined, ''])
})

t.test('other token types are kept as the provider spelled them', async (t) => {
  t.equal(normalizeTokenType('DPoP'), 'DPoP')
  t.equal(normalizeTokenType('BEARER'), 'Bearer')
  t.equal(normalizeScope(' , a,b  c ,'), 'a b c')
})
