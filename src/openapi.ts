import type { FastifyInstance } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { stringify } from 'yaml'
import { SCOPE_DESCRIPTIONS } from './auth/scopes.ts'

export const openApiInfo = {
  openapi: '3.1.0',
  info: {
    title: 'secret-vault',
    version: '1.0.0',
    license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    description:
      'Keeps federated OAuth/OIDC token sets safe. The identity core pushes provider token responses; the account ' +
      "API reads access tokens back. It keeps a user's other secrets under the same keys: named secrets (API keys, " +
      'passwords) and MFA factors (TOTP, backup codes), verified inside the vault. Callers authenticate with OAuth 2.0 client-credentials access tokens (JWT) ' +
      'whose scopes grant least privilege and which may be bound to tenants. Every error is RFC 9457 problem ' +
      'details (application/problem+json) carrying a stable `code` and the `request_id`.',
  },
  // Relative: /docs sends "Try it out" to the vault that served it, whatever its host and port.
  servers: [{ url: '/', description: 'The vault that serves this document' }],
  tags: [
    { name: 'token sets', description: 'Store, read, list and delete token sets' },
    { name: 'connectors', description: "How the vault refreshes a connector's tokens; deleting a connector" },
    { name: 'user secrets', description: "A user's named secrets: API keys, passwords, anything else" },
    { name: 'mfa', description: 'TOTP and backup codes, verified inside the vault' },
    { name: 'users', description: 'Everything the vault holds for a user' },
    { name: 'audit', description: 'The append-only audit trail' },
    { name: 'operations', description: 'Liveness and readiness' },
  ],
  components: {
    securitySchemes: {
      bearer: {
        type: 'oauth2' as const,
        description: 'An access token from the identity platform (client credentials), sent as `Authorization: Bearer <jwt>`.',
        flows: { clientCredentials: { tokenUrl: 'https://identity.example.com/oidc/token', scopes: SCOPE_DESCRIPTIONS } },
      },
      // The same token, pasted: what /docs' "Authorize" takes when the token was minted elsewhere.
      pastedToken: {
        type: 'http' as const,
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'An access token pasted as is: from the identity platform, or on the embedded default from `npm run -s cli -- token mint`. ' +
          'It needs the scope the operation names.',
      },
    },
  },
}

const PROBLEM_REF = '#/components/schemas/Problem'

/**
 * Error answers are problem details: declared once as a component (Problem) and with the media type they
 * are served as. Other bodies a 4xx or 5xx may have (readiness's 503) stay as they are.
 */
function asProblemDetails(response: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(response).map(([status, schema]) => {
      const { description, $ref } = schema as { description?: string; $ref?: string }
      if ($ref !== PROBLEM_REF) return [status, schema]
      return [status, { description, content: { 'application/problem+json': { schema: { $ref: PROBLEM_REF } } } }]
    }),
  )
}

/** Route schemas to OpenAPI, with each route's required scope (its config.scope) as its security. */
export const openApiTransform: typeof jsonSchemaTransform = (input) => {
  const transformed = jsonSchemaTransform(input)
  const response = transformed.schema.response as Record<string, unknown> | undefined
  const schema = response === undefined ? transformed.schema : { ...transformed.schema, response: asProblemDetails(response) }
  const scope = (input.route.config as { scope?: string } | undefined)?.scope
  // An empty requirement says "public" explicitly (probes, metrics, the reference page).
  if (scope === undefined) return { ...transformed, schema: { ...schema, security: [] } }
  const security: Array<Record<string, string[]>> = [{ bearer: [scope] }, { pastedToken: [scope] }]
  return { ...transformed, schema: { ...schema, security } }
}

/**
 * Shared schemas (registered with an id) become components. They are emitted in an input and an output
 * variant; only those something refers to are kept.
 */
export const openApiTransformObject: typeof jsonSchemaTransformObject = (input) => {
  const document = jsonSchemaTransformObject(input) as { components?: { schemas?: Record<string, unknown> } }
  const schemas = document.components?.schemas
  if (schemas === undefined) return document as ReturnType<typeof jsonSchemaTransformObject>
  const refsIn = (value: unknown) => [...JSON.stringify(value).matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1]!)
  const used = new Set(refsIn({ ...document, components: { ...document.components, schemas: {} } }))
  for (const name of used) for (const ref of refsIn(schemas[name])) used.add(ref)
  document.components!.schemas = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)))
  return document as ReturnType<typeof jsonSchemaTransformObject>
}

/** The contract as YAML, generated from the routes' own zod schemas. */
export function renderOpenApi(app: FastifyInstance): string {
  return stringify(app.swagger(), { lineWidth: 0 })
}
