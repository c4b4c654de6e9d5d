import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { SCOPES } from '../auth/scopes.ts'
import { errorResponses } from '../http/error-response.ts'
import { userParamsSchema } from '../schemas/ids.ts'
import {
  deletedSchema,
  putUserSecretBodySchema,
  userSecretListSchema,
  userSecretMetadataSchema,
  userSecretParamsSchema,
  userSecretSchema,
} from './user-secret.schemas.ts'
import type { UserSecretService } from './user-secret.service.ts'

const secretsPath = '/tenants/:tenantId/users/:userId/secrets'

/** A user's named secrets. Listing shows metadata only; reading a value is a scope of its own, and audited. */
export const userSecretRoutes: FastifyPluginAsyncZod<{ userSecrets: UserSecretService }> = async (app, { userSecrets }) => {
  app.put(
    `${secretsPath}/:name`,
    {
      config: { scope: SCOPES.secretsWrite, audit: 'user_secret.put' },
      schema: {
        operationId: 'putUserSecret',
        tags: ['user secrets'],
        summary: 'Store or replace a named secret of the user (an API key, a password, anything else)',
        params: userSecretParamsSchema,
        body: putUserSecretBodySchema,
        response: {
          200: userSecretMetadataSchema.describe('Replaced'),
          201: userSecretMetadataSchema.describe('Stored'),
          ...errorResponses(401, 403, 400, 413, 415),
        },
      },
    },
    async (request, reply) => {
      const { created, secret } = await userSecrets.put(request.params, request.body)
      request.auditKeyVersion = secret.key_version
      return reply.code(created ? 201 : 200).send(secret)
    },
  )

  app.get(
    `${secretsPath}/:name`,
    {
      config: { scope: SCOPES.secretsRead, audit: 'user_secret.read' },
      schema: {
        operationId: 'readUserSecret',
        tags: ['user secrets'],
        summary: 'Read a named secret of the user, its value included (Cache-Control: no-store)',
        params: userSecretParamsSchema,
        response: { 200: userSecretSchema.describe('The secret and its value'), ...errorResponses(401, 403, 400, 404) },
      },
    },
    async (request) => {
      const secret = await userSecrets.read(request.params)
      request.auditKeyVersion = secret.key_version
      return secret
    },
  )

  app.get(
    secretsPath,
    {
      config: { scope: SCOPES.secretsList, audit: 'user_secret.list' },
      schema: {
        operationId: 'listUserSecrets',
        tags: ['user secrets'],
        summary: "List the user's named secrets: metadata only, never a value",
        params: userParamsSchema,
        response: { 200: userSecretListSchema.describe("The user's secrets"), ...errorResponses(401, 403, 400) },
      },
    },
    async (request) => ({ secrets: await userSecrets.list(request.params.tenantId, request.params.userId) }),
  )

  app.delete(
    `${secretsPath}/:name`,
    {
      config: { scope: SCOPES.secretsWrite, audit: 'user_secret.delete' },
      schema: {
        operationId: 'deleteUserSecret',
        tags: ['user secrets'],
        summary: 'Delete a named secret of the user',
        params: userSecretParamsSchema,
        response: { 200: deletedSchema.describe('How many secrets were deleted (0 or 1)'), ...errorResponses(401, 403, 400) },
      },
    },
    async (request) => ({ deleted: await userSecrets.delete(request.params) }),
  )
}
