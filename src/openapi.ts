import type { FastifyInstance } from 'fastify'
import { stringify } from 'yaml'

export const openApiInfo = {
  openapi: '3.1.0',
  info: {
    title: 'secret-vault',
    version: '1.0.0',
    description:
      'Keeps federated OAuth/OIDC token sets safe. The identity core pushes provider token responses; the account ' +
      'API reads access tokens back. Every error body carries a stable `code` and the `request_id`.',
  },
  servers: [{ url: 'http://127.0.0.1:8080' }],
  tags: [
    { name: 'token sets', description: 'Store, read, list and delete token sets' },
    { name: 'operations', description: 'Liveness and readiness' },
  ],
}

/** The contract as YAML, generated from the routes' own zod schemas. */
export function renderOpenApi(app: FastifyInstance): string {
  return stringify(app.swagger(), { lineWidth: 0 })
}
