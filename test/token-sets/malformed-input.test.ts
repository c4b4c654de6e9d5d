import t from 'tap'
import { buildTestApp, countRows, openTestDatabase, uniqueTenant } from '../support/helper.ts'
import { connectionPath, githubPush } from '../support/http.ts'

const database = await openTestDatabase(t)
const { app, logs } = await buildTestApp(t, database, { bodyLimitBytes: 4096 })

const SECRET = 'gho_malformedSecret_9f8e7d'

interface Case {
  name: string
  code: string
  status: number
  url?: (tenant: string) => string
  method?: 'PUT' | 'GET' | 'DELETE' | 'POST'
  payload?: string | object
  headers?: Record<string, string>
  issuePath?: string
}

const pushUrl = (tenant: string) => `${connectionPath({ tenant })}/token-set`
const valid = githubPush(SECRET)

const cases: Case[] = [
  {
    name: 'malformed JSON',
    code: 'request.invalid_json',
    status: 400,
    payload: `{"token_response":{"access_token":"${SECRET}"`,
    headers: { 'content-type': 'application/json' },
  },
  { name: 'empty JSON body', code: 'request.invalid_json', status: 400, payload: '', headers: { 'content-type': 'application/json' } },
  {
    name: 'body is not JSON',
    code: 'request.unsupported_media_type',
    status: 415,
    payload: `access_token=${SECRET}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  },
  { name: 'oversized body', code: 'request.body_too_large', status: 413, payload: githubPush(`${SECRET}${'x'.repeat(5000)}`) },
  { name: 'unknown top-level field', code: 'request.invalid', status: 400, payload: { ...valid, access_token: SECRET }, issuePath: 'body' },
  { name: 'missing token_response', code: 'request.invalid', status: 400, payload: { target: 'github' }, issuePath: 'body.token_response' },
  {
    name: 'missing access_token',
    code: 'request.invalid',
    status: 400,
    payload: githubPush(SECRET, { token_response: { refresh_token: SECRET } }),
    issuePath: 'body.token_response.access_token',
  },
  {
    name: 'empty access_token',
    code: 'request.invalid',
    status: 400,
    payload: githubPush(''),
    issuePath: 'body.token_response.access_token',
  },
  {
    name: 'access_token not a string',
    code: 'request.invalid',
    status: 400,
    payload: githubPush(12345 as unknown as string),
    issuePath: 'body.token_response.access_token',
  },
  {
    name: 'expires_in not numeric',
    code: 'request.invalid',
    status: 400,
    payload: githubPush(SECRET, {}, { expires_in: 'soon' }),
    issuePath: 'body.token_response.expires_in',
  },
  {
    name: 'expires_in negative',
    code: 'request.invalid',
    status: 400,
    payload: githubPush(SECRET, {}, { expires_in: -5 }),
    issuePath: 'body.token_response.expires_in',
  },
  {
    name: 'expires_in fractional',
    code: 'request.invalid',
    status: 400,
    payload: githubPush(SECRET, {}, { expires_in: 1.5 }),
    issuePath: 'body.token_response.expires_in',
  },
  {
    name: 'issued_at not a timestamp',
    code: 'request.invalid',
    status: 400,
    payload: githubPush(SECRET, { issued_at: 'yesterday' }),
    issuePath: 'body.issued_at',
  },
  {
    name: 'issuer not a URL',
    code: 'request.invalid',
    status: 400,
    url: (tenant) => `${connectionPath({ tenant, type: 'enterprise_sso' })}/token-set`,
    payload: { issuer: 'not a url', token_response: { access_token: SECRET } },
    issuePath: 'body.issuer',
  },
  {
    name: 'unknown connector type',
    code: 'request.invalid',
    status: 400,
    url: (tenant) => `${connectionPath({ tenant, type: 'saml' })}/token-set`,
    payload: valid,
    issuePath: 'params.connectorType',
  },
  {
    name: 'bad tenant id',
    code: 'request.invalid',
    status: 400,
    url: () => `${connectionPath({ tenant: 'bad%20tenant' })}/token-set`,
    payload: valid,
    issuePath: 'params.tenantId',
  },
  {
    name: 'bad user id',
    code: 'request.invalid',
    status: 400,
    url: (tenant) => `${connectionPath({ tenant, user: '-alice' })}/token-set`,
    payload: valid,
    issuePath: 'params.userId',
  },
  {
    name: 'too long connector id',
    code: 'request.invalid',
    status: 400,
    url: (tenant) => `${connectionPath({ tenant, connector: 'c'.repeat(129) })}/token-set`,
    payload: valid,
    issuePath: 'params.connectorId',
  },
  { name: 'unknown route', code: 'route.not_found', status: 404, url: (tenant) => `/v1/tenants/${tenant}/secrets`, method: 'GET' },
  {
    name: 'wrong method',
    code: 'request.method_not_allowed',
    status: 405,
    url: (tenant) => `${connectionPath({ tenant })}/access-token`,
    method: 'POST',
    payload: valid,
  },
  {
    name: 'a text/plain body',
    code: 'request.unsupported_media_type',
    status: 415,
    payload: JSON.stringify(valid),
    headers: { 'content-type': 'text/plain' },
  },
  {
    name: 'a misplaced token as a field name is not echoed',
    code: 'request.invalid',
    status: 400,
    payload: { ...valid, [SECRET]: true },
    issuePath: 'body',
  },
  {
    name: 'a bearer token in the query',
    code: 'request.invalid',
    status: 400,
    url: (tenant) => `${pushUrl(tenant)}?access_token=${SECRET}`,
    payload: valid,
    issuePath: 'query.access_token',
  },
  {
    name: 'a path segment longer than any id',
    code: 'request.uri_too_long',
    status: 414,
    url: (tenant) => `${connectionPath({ tenant, connector: SECRET.repeat(60) })}/token-set`,
    payload: valid,
  },
  // PostgreSQL refuses NUL in text: refused by the schema, it is a 400 naming the field, never a 500.
  ...(['target', 'provider_subject'] as const).map((field) => ({
    name: `NUL in ${field}`,
    code: 'request.invalid',
    status: 400,
    payload: { ...valid, [field]: `gi\u0000thub` },
    issuePath: `body.${field}`,
  })),
  ...(['scope', 'token_type'] as const).map((field) => ({
    name: `NUL in token_response.${field}`,
    code: 'request.invalid',
    status: 400,
    payload: githubPush(SECRET, {}, { [field]: 'repo\u0000' }),
    issuePath: `body.token_response.${field}`,
  })),
  {
    name: 'NUL in issuer',
    code: 'request.invalid',
    status: 400,
    url: (tenant) => `${connectionPath({ tenant, type: 'enterprise_sso' })}/token-set`,
    payload: { issuer: 'https://acme.okta.com/\u0000', token_response: { access_token: SECRET } },
    issuePath: 'body.issuer',
  },
  ...(
    [
      ['NUL in client_id', { client_id: 'Iv1\u0000' }, 'body.client_id'],
      ['NUL in an extra parameter', { extra_params: { resource: 'https://api\u0000' } }, 'body.extra_params.resource'],
      ['both token_endpoint and issuer', { issuer: 'https://github.com' }, 'body.issuer'],
    ] as const
  ).map(([name, change, issuePath]) => ({
    name,
    code: 'request.invalid',
    status: 400,
    url: (tenant: string) => `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
    payload: { token_endpoint: 'https://github.com/login/oauth/access_token', client_id: 'Iv1.a', client_secret: SECRET, ...change },
    issuePath,
  })),
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const tenant = uniqueTenant()
    const res = await app.inject({
      method: c.method ?? 'PUT',
      url: (c.url ?? pushUrl)(tenant),
      ...(c.payload === undefined ? {} : { payload: c.payload }),
      ...(c.headers === undefined ? {} : { headers: c.headers }),
    })
    t.equal(res.statusCode, c.status, 'status')
    const body = res.json()
    t.equal(body.code, c.code, 'code')
    t.equal(body.request_id, res.headers['x-request-id'], 'request id')
    // RFC 9457 problem details, the vault's code and request id as extension members.
    t.match(res.headers['content-type'], /^application\/problem\+json/)
    t.match(body, { type: `urn:secret-vault:error:${c.code}`, status: c.status, instance: `urn:uuid:${res.headers['x-request-id']}` })
    t.type(body.title, 'string')
    t.type(body.detail, 'string')
    if (c.status === 405) t.equal(res.headers.allow, 'GET, HEAD', 'Allow names the methods the route has')
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    if (c.issuePath !== undefined)
      t.ok(
        body.issues.some((issue: { path: string }) => issue.path === c.issuePath),
        `issue at ${c.issuePath}: ${JSON.stringify(body.issues)}`,
      )
    t.notMatch(res.body, SECRET, 'the error does not echo the input')
    t.equal(await countRows(database, 'token_sets', tenant), 0, 'nothing stored')
    t.equal(await countRows(database, 'data_keys', tenant), 0, 'no key made')
  })
}

t.test('no log line carries the secret of any malformed request', async (t) => {
  t.ok(logs.length > cases.length, 'requests were logged')
  t.notOk(logs.some((line) => line.includes(SECRET)))
})
