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
  { name: 'malformed JSON', code: 'request.invalid_json', status: 400, payload: `{"token_response":{"access_token":"${SECRET}"`, headers: { 'content-type': 'application/json' } },
  { name: 'empty JSON body', code: 'request.invalid_json', status: 400, payload: '', headers: { 'content-type': 'application/json' } },
  { name: 'body is not JSON', code: 'request.unsupported_media_type', status: 415, payload: `access_token=${SECRET}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  { name: 'oversized body', code: 'request.body_too_large', status: 413, payload: githubPush(`${SECRET}${'x'.repeat(5000)}`) },
  { name: 'unknown top-level field', code: 'request.invalid', status: 400, payload: { ...valid, access_token: SECRET }, issuePath: 'body' },
  { name: 'missing token_response', code: 'request.invalid', status: 400, payload: { target: 'github' }, issuePath: 'body.token_response' },
  { name: 'missing access_token', code: 'request.invalid', status: 400, payload: githubPush(SECRET, { token_response: { refresh_token: SECRET } }), issuePath: 'body.token_response.access_token' },
  { name: 'empty access_token', code: 'request.invalid', status: 400, payload: githubPush('') , issuePath: 'body.token_response.access_token' },
  { name: 'access_token not a string', code: 'request.invalid', status: 400, payload: githubPush(12345 as unknown as string), issuePath: 'body.token_response.access_token' },
  { name: 'expires_in not numeric', code: 'request.invalid', status: 400, payload: githubPush(SECRET, {}, { expires_in: 'soon' }), issuePath: 'body.token_response.expires_in' },
  { name: 'expires_in negative', code: 'request.invalid', status: 400, payload: githubPush(SECRET, {}, { expires_in: -5 }), issuePath: 'body.token_response.expires_in' },
  { name: 'expires_in fractional', code: 'request.invalid', status: 400, payload: githubPush(SECRET, {}, { expires_in: 1.5 }), issuePath: 'body.token_response.expires_in' },
  { name: 'issued_at not a timestamp', code: 'request.invalid', status: 400, payload: githubPush(SECRET, { issued_at: 'yesterday' }), issuePath: 'body.issued_at' },
  { name: 'issuer not a URL', code: 'request.invalid', status: 400, url: (tenant) => `${connectionPath({ tenant, type: 'enterprise_sso' })}/token-set`, payload: { issuer: 'not a url', token_response: { access_token: SECRET } }, issuePath: 'body.issuer' },
  { name: 'unknown connector type', code: 'request.invalid', status: 400, url: (tenant) => `${connectionPath({ tenant, type: 'saml' })}/token-set`, payload: valid, issuePath: 'params.connectorType' },
  { name: 'bad tenant id', code: 'request.invalid', status: 400, url: () => `${connectionPath({ tenant: 'bad%20tenant' })}/token-set`, payload: valid, issuePath: 'params.tenantId' },
  { name: 'bad user id', code: 'request.invalid', status: 400, url: (tenant) => `${connectionPath({ tenant, user: '-alice' })}/token-set`, payload: valid, issuePath: 'params.userId' },
  { name: 'too long connector id', code: 'request.invalid', status: 400, url: (tenant) => `${connectionPath({ tenant, connector: 'c'.repeat(129) })}/token-set`, payload: valid, issuePath: 'params.connectorId' },
  { name: 'unknown route', code: 'route.not_found', status: 404, url: (tenant) => `/v1/tenants/${tenant}/secrets`, method: 'GET' },
  { name: 'wrong method', code: 'route.not_found', status: 404, url: (tenant) => `${connectionPath({ tenant })}/access-token`, method: 'POST', payload: valid },
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
    if (c.issuePath !== undefined) t.ok(body.issues.some((issue: { path: string }) => issue.path === c.issuePath), `issue at ${c.issuePath}: ${JSON.stringify(body.issues)}`)
    t.notMatch(res.body, SECRET, 'the error does not echo the input')
    t.equal(await countRows(database, 'token_sets', tenant), 0, 'nothing stored')
    t.equal(await countRows(database, 'data_keys', tenant), 0, 'no key made')
  })
}

t.test('no log line carries the secret of any malformed request', async (t) => {
  t.ok(logs.length > cases.length, 'requests were logged')
  t.notOk(logs.some((line) => line.includes(SECRET)))
})
