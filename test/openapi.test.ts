import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { generateClientTypes } from '../scripts/generate-client-types.ts'
import { ALL_SCOPES } from '../src/auth/scopes.ts'
import { ERROR_CODES } from '../src/errors.ts'
import { generateOpenApiDocument } from '../src/openapi-document.ts'

const committed = readFileSync(new URL('../openapi.yaml', import.meta.url), 'utf8')

t.test('openapi.yaml is what the code generates (run `npm run openapi` after changing a route)', async (t) => {
  t.equal(committed, await generateOpenApiDocument())
})

t.test("the client's types are what openapi-typescript makes of openapi.yaml", async (t) => {
  const committedTypes = readFileSync(new URL('../src/client/schema.ts', import.meta.url), 'utf8')
  t.equal(committedTypes, await generateClientTypes(committed))
})

t.test('every operation has an id and documents its error responses', async (t) => {
  const document = parse(committed)
  const operations = Object.values(document.paths).flatMap((item) => Object.values(item as Record<string, any>))
  t.ok(operations.length >= 8)
  for (const operation of operations) {
    t.ok(operation.operationId, `${operation.summary} has an operationId`)
    if (!['health', 'readiness', 'metrics'].includes(operation.operationId)) {
      t.ok(operation.responses['400'] && operation.responses['500'], `${operation.operationId} documents 400 and 500`)
    }
  }
})

t.test('redocly lint finds nothing: no error, no warning beyond the reasoned ignore file', async (t) => {
  const root = new URL('..', import.meta.url)
  const { stdout } = await promisify(execFile)('node_modules/.bin/redocly', ['lint', 'openapi.yaml', '--format=json'], { cwd: root }).catch(
    (failure: { stdout: string }) => ({ stdout: failure.stdout }),
  )
  const report = JSON.parse(stdout)
  t.same(report.problems, [])
  t.same({ errors: report.totals.errors, warnings: report.totals.warnings }, { errors: 0, warnings: 0 })
})

t.test('every scope, error code and security requirement is in the contract', async (t) => {
  const document = parse(committed)
  t.same(Object.keys(document.components.securitySchemes.bearer.flows.clientCredentials.scopes).sort(), [...ALL_SCOPES].sort())
  const errorCodes = new Set<string>()
  for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
    for (const [method, operation] of Object.entries(item)) {
      const name = `${method.toUpperCase()} ${path}`
      if (path.startsWith('/v1/')) {
        t.same(
          operation.security?.map((requirement: Record<string, string[]>) => Object.keys(requirement)[0]),
          ['bearer', 'pastedToken'],
          `${name} takes a bearer token, from client credentials or pasted`,
        )
        t.ok(ALL_SCOPES.includes(operation.security[0].bearer[0]), `${name} names its scope`)
        t.same(operation.security[1].pastedToken, operation.security[0].bearer, `${name}: the same scope either way`)
        t.ok(operation.responses['401'] && operation.responses['403'], `${name} documents 401 and 403`)
      } else {
        t.same(operation.security, [], `${name} is explicitly public`)
      }
      for (const response of Object.values(operation.responses as Record<string, any>)) {
        t.not(response.description, 'Default Response', `${name}: every response is described`)
        const deref = (schema: any) => (schema?.$ref === undefined ? schema : document.components.schemas[schema.$ref.split('/').at(-1)])
        const problem = response.content?.['application/problem+json']?.schema
        t.notOk(response.content?.['application/json']?.schema?.properties?.code, `${name}: errors are declared as problem details`)
        const code = deref(problem)?.properties?.code
        const resolved = deref(code)
        for (const value of resolved?.enum ?? []) errorCodes.add(value)
      }
    }
  }
  t.same([...errorCodes].sort(), [...ERROR_CODES].sort(), 'every error code is declared')
})

t.test('the service serves an interactive reference at /docs, without a token, from the same document', async (t) => {
  const { buildTestApp, openTestDatabase } = await import('./support/helper.ts')
  const { app } = await buildTestApp(t, await openTestDatabase(t))
  const page = await app.inject({ method: 'GET', url: '/docs/', headers: { authorization: '' } })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], 'text/html')
  t.match(page.body, /swagger-ui/i)
  t.match(page.headers['content-security-policy'], "default-src 'self'", 'assets are served locally, under a CSP')
  const document = await app.inject({ method: 'GET', url: '/docs/json', headers: { authorization: '' } })
  t.equal(document.statusCode, 200)
  t.same(document.json(), parse(committed))
})

t.test("every example in the contract is a request the server accepts, as /docs' Try it out sends it", async (t) => {
  const { buildTestApp, openTestDatabase } = await import('./support/helper.ts')
  const { app, issuer } = await buildTestApp(t, await openTestDatabase(t))
  const document = parse(committed)
  const deref = (schema: any) => (schema?.$ref === undefined ? schema : document.components.schemas[schema.$ref.split('/').at(-1)])
  const authorization = `Bearer ${await issuer.mint()}`
  const operations = Object.entries(document.paths as Record<string, Record<string, any>>)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })))
  // As a reader tries them: store first, then read and act, deletions last.
  const rank = (op: { method: string; operation: any }) =>
    op.operation.operationId === 'pushTokenSet' ? 0 : op.operation.operationId === 'putRefreshSettings' ? 1 : op.method === 'DELETE' ? 3 : 2
  operations.sort((a, b) => rank(a) - rank(b))
  t.ok(operations.length >= 20)
  // What a call may answer when its example names a factor or an endpoint that was never made: the domain's answer, not a refusal of the request.
  const domainRefusals = new Set(['mfa.factor_not_found', 'mfa.code_invalid', 'mfa.locked', 'token_set.not_found', 'webhook.not_found'])
  for (const { path, method, operation } of operations) {
    const name = operation.operationId
    let url = path
    for (const parameter of (operation.parameters ?? []).filter((p: any) => p.in === 'path')) {
      const value = parameter.schema.example ?? parameter.schema.enum?.[0]
      t.ok(value !== undefined, `${name}: path parameter ${parameter.name} has an example`)
      url = url.replace(`{${parameter.name}}`, encodeURIComponent(value))
    }
    const bodySchema = operation.requestBody?.content?.['application/json']?.schema
    const payload = bodySchema === undefined ? undefined : deref(bodySchema).example
    if (operation.requestBody?.required) t.ok(payload !== undefined, `${name}: its body has an example`)
    const res = await app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload }) })
    const code = res.statusCode >= 400 ? res.json().code : undefined
    t.ok(res.statusCode < 400 || (res.statusCode < 500 && domainRefusals.has(code)), `${name}: ${res.statusCode} ${code ?? ''}`)
    if (['pushTokenSet', 'readAccessToken', 'putUserSecret', 'readUserSecret', 'generateTotpSecret'].includes(name)) {
      t.ok(res.statusCode === 200 || res.statusCode === 201, `${name} succeeds with its example`)
    }
  }
})
