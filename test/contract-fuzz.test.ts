import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import fc from 'fast-check'
import t from 'tap'
import { parse } from 'yaml'
import { buildTestApp, openTestDatabase, uniqueTenant } from './support/helper.ts'
import { githubPush, push } from './support/http.ts'

/**
 * A contract fuzzer driven by openapi.yaml: for every operation, requests generated from its own schemas
 * (fast-check), then the same requests broken in the ways an attacker or a buggy caller breaks them — a
 * field replaced by another type, a NUL byte, a number past every integer type, an unknown key, a path
 * parameter that is "..", a huge one. Every answer must be in the contract: a status the operation
 * declares, and a body valid against the schema it declares for that status. No 5xx, ever. Bounded in
 * runs, so that it stays a few seconds of `npm test`.
 */
type Schema = Record<string, any>
const document = parse(readFileSync(path.resolve(import.meta.dirname, '../openapi.yaml'), 'utf8')) as Schema

const ajv = new Ajv2020({ strict: false, allErrors: false })
addFormats.default(ajv)
ajv.addSchema({ $id: 'contract', components: document.components })
const withRefs = (schema: unknown) => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"contract#/components/'))

const database = await openTestDatabase(t)
const { app } = await buildTestApp(t, database)
const tenant = uniqueTenant('fuzz')
await push(app, { tenant }, githubPush('gho_fuzz', {}, { refresh_token: 'ghr_fuzz', expires_in: 3600 }))

/** Resolves a local $ref against the contract. */
function resolve(schema: Schema): Schema {
  if (typeof schema.$ref !== 'string') return schema
  return schema.$ref
    .replace('#/', '')
    .split('/')
    .reduce((node: Schema, key: string) => node[key], document)
}

const URLS = ['https://github.com/login/oauth/access_token', 'https://accounts.google.com', 'https://acme.okta.com/oauth2/default']

/** Values valid against a schema (the subset the contract uses), small enough to stay fast. */
function valid(raw: Schema, name = ''): fc.Arbitrary<unknown> {
  const schema = resolve(raw)
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum)
  if (schema.anyOf !== undefined || schema.oneOf !== undefined)
    return fc.oneof(...(schema.anyOf ?? schema.oneOf).map((s: Schema) => valid(s, name)))
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type
  switch (type) {
    case 'null':
      return fc.constant(null)
    case 'boolean':
      return fc.boolean()
    case 'integer':
      return fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 100_000, 2 ** 31 - 1) })
    case 'number':
      return fc.double({ min: schema.minimum ?? 0, max: schema.maximum ?? 1e6, noNaN: true })
    case 'array':
      return fc.array(valid(schema.items ?? {}, name), { maxLength: Math.min(schema.maxItems ?? 3, 3) })
    case 'object': {
      const properties: Record<string, fc.Arbitrary<unknown>> = {}
      for (const [key, value] of Object.entries(schema.properties ?? {})) properties[key] = valid(value as Schema, key)
      if (schema.properties === undefined && typeof schema.additionalProperties === 'object') {
        return fc.dictionary(fc.stringMatching(/^[a-z_]{1,12}$/), valid(schema.additionalProperties), { maxKeys: 3 })
      }
      return fc.record(properties, { requiredKeys: schema.required ?? [] })
    }
    case 'string': {
      if (schema.format === 'date-time')
        return fc.date({ min: new Date('2020-01-01'), max: new Date(Date.now() + 60_000), noInvalidDate: true }).map((d) => d.toISOString())
      if (schema.format === 'uuid') return fc.uuid()
      if (/endpoint|issuer/.test(name)) return fc.constantFrom(...URLS)
      const max = Math.min(schema.maxLength ?? 40, 40)
      const min = Math.min(schema.minLength ?? 0, max)
      if (typeof schema.pattern === 'string' && !schema.pattern.includes('\\u0000'))
        return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= min && s.length <= Math.max(max, min, 128))
      return fc.string({ minLength: min, maxLength: max }).filter((s) => !s.includes('\u0000'))
    }
    default:
      return fc.jsonValue({ maxDepth: 1 })
  }
}

/** What breaks a value: another type, a NUL, numbers no integer holds, deep nesting, the empty string. */
const HOSTILE = [
  '\u0000',
  'a\u0000b',
  '9999999999999999999',
  Buffer.from('9999999999999999999').toString('base64url'),
  -1,
  1.5,
  2 ** 53 + 1,
  // biome-ignore lint/correctness/noPrecisionLoss: a number past every integer type is the point
  9_999_999_999_999_999_999,
  1e308,
  true,
  null,
  [],
  {},
  'x'.repeat(70_000),
]
const hostile = fc.oneof(fc.constantFrom<unknown>('', '.', '..', ...HOSTILE), fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 3 }))
// In a path, "", "." and ".." are resolved away by URL rules into another route's path, whose answer is
// that route's: they are the client's to refuse (test/client), not this operation's.
const hostileSegment = fc.oneof(
  fc.constantFrom<unknown>(...HOSTILE),
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s !== '.' && s !== '..' && !s.includes('/')),
)

/** Every string leaf of a value, depth first, as paths. */
function stringLeaves(value: unknown, at: string[] = []): string[][] {
  if (typeof value === 'string') return [at]
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([key, inner]) => stringLeaves(inner, [...at, key]))
}

/** The value with a NUL put into one of its strings, however deep: PostgreSQL refuses NUL in text. */
function withNul(value: unknown): fc.Arbitrary<unknown> {
  const leaves = stringLeaves(value)
  if (leaves.length === 0) return fc.constant(value)
  return fc.nat({ max: leaves.length - 1 }).map((index) => {
    const copy = structuredClone(value) as Record<string, unknown>
    const leaf = leaves[index]!
    const parent = leaf.slice(0, -1).reduce((node: any, key) => node[key], copy)
    parent[leaf.at(-1)!] = `${parent[leaf.at(-1)!]}\u0000`
    return copy
  })
}

/** A valid object with one field broken, a required one removed, or an unknown one added; or not an object at all. */
function broken(body: unknown, { keepObject = false, values = hostile, names = [] as string[] } = {}): fc.Arbitrary<unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return hostile
  const keys = [...new Set([...Object.keys(body), ...names])]
  return fc.oneof(
    ...(keepObject ? [] : [hostile]),
    fc.tuple(fc.constantFrom(...(keys.length > 0 ? keys : ['x'])), values).map(([key, value]) => ({ ...body, [key]: value })),
    fc.constantFrom(...(keys.length > 0 ? keys : ['x'])).map((key) => Object.fromEntries(Object.entries(body).filter(([k]) => k !== key))),
    hostile.map((value) => ({ ...body, gho_unknown_field: value })),
  )
}

interface Operation {
  id: string
  method: string
  template: string
  schema: Schema
}

const operations: Operation[] = Object.entries(document.paths as Record<string, Schema>).flatMap(([template, methods]) =>
  Object.entries(methods)
    .filter(([, op]) => typeof op === 'object' && op.operationId !== undefined && !template.startsWith('/docs'))
    .map(([method, op]) => ({ id: op.operationId as string, method: method.toUpperCase(), template, schema: op as Schema })),
)

function requestArbitrary(op: Operation, hostileMode: boolean) {
  const params: Schema[] = op.schema.parameters ?? []
  const pathParams = params.filter((p) => p.in === 'path')
  const queryParams = params.filter((p) => p.in === 'query')
  const pathValues = fc.record(
    Object.fromEntries(
      pathParams.map((p) => [
        p.name,
        p.name === 'tenantId' ? fc.constant(tenant) : p.name === 'userId' ? fc.constantFrom('alice', 'bob') : valid(p.schema, p.name),
      ]),
    ),
  ) as fc.Arbitrary<Record<string, unknown>>
  const queryValues = fc.record(Object.fromEntries(queryParams.map((p) => [p.name, valid(p.schema, p.name)])), {
    requiredKeys: [],
  }) as fc.Arbitrary<Record<string, unknown>>
  const bodySchema = op.schema.requestBody?.content?.['application/json']?.schema
  const body = bodySchema === undefined ? fc.constant(undefined) : valid(bodySchema)
  const request = fc.record({ path: pathValues, query: queryValues, body })
  if (!hostileMode) return request
  return request.chain(({ path, query, body }) =>
    fc.oneof(
      fc.record({ path: fc.constant(path), query: fc.constant(query), body: broken(body) }),
      fc.record({ path: fc.constant(path), query: withNul(query) as fc.Arbitrary<Record<string, unknown>>, body: withNul(body) }),
      fc.record({
        path: broken(path, { keepObject: true, values: hostileSegment }) as fc.Arbitrary<Record<string, unknown>>,
        query: fc.constant(query),
        body: fc.constant(body),
      }),
      fc.record({
        path: fc.constant(path),
        query: broken(query, { keepObject: true, names: queryParams.map((p) => p.name) }) as fc.Arbitrary<Record<string, unknown>>,
        body: fc.constant(body),
      }),
    ),
  )
}

function urlOf(op: Operation, path: Record<string, unknown>, query: Record<string, unknown>): string {
  const filled = op.template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(path[name] ?? '')))
  const search = new URLSearchParams(
    Object.entries(query)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  )
  return search.size === 0 ? filled : `${filled}?${search}`
}

const RUNS = Number(process.env.CONTRACT_FUZZ_RUNS ?? 30)

for (const op of operations) {
  t.test(`${op.id}: generated and broken requests are answered within the contract, never with a 5xx`, async (t) => {
    const seen = new Map<number, number>()
    for (const hostileMode of [false, true]) {
      await fc.assert(
        fc.asyncProperty(requestArbitrary(op, hostileMode), async ({ path, query, body }) => {
          const res = await app.inject({
            method: op.method,
            url: urlOf(op, path, query),
            ...(body === undefined || op.method === 'GET' || op.method === 'DELETE'
              ? {}
              : { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
          })
          seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1)
          if (res.statusCode >= 500) throw new Error(`${res.statusCode} ${res.body}`)
          const declared = op.schema.responses[String(res.statusCode)]
          // A path broken into another route's shape is that route's 404/405, which the router answers.
          if (declared === undefined) {
            const payload = res.json()
            if (![404, 405].includes(res.statusCode) || typeof payload.code !== 'string')
              throw new Error(`undeclared ${res.statusCode}: ${res.body}`)
            return
          }
          const [mediaType, declaredBody] = Object.entries(declared.content ?? {})[0] ?? []
          const schema = (declaredBody as { schema?: unknown } | undefined)?.schema
          if (mediaType !== undefined && !String(res.headers['content-type']).startsWith(mediaType))
            throw new Error(`${res.statusCode} served as ${res.headers['content-type']}, declared ${mediaType}`)
          if (schema !== undefined && mediaType!.includes('json')) {
            const validate = ajv.compile(withRefs(schema))
            if (!validate(res.json())) throw new Error(`${res.statusCode} body outside the contract: ${ajv.errorsText(validate.errors)}`)
          }
        }),
        { numRuns: RUNS, seed: Number(process.env.CONTRACT_FUZZ_SEED ?? 20261203), endOnFailure: true },
      )
    }
    t.ok(seen.size > 0, `statuses seen: ${JSON.stringify(Object.fromEntries(seen))}`)
  })
}
