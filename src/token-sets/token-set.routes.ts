import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { SCOPES } from '../auth/scopes.ts'
import { errorResponses } from '../http/error-response.ts'
import { connectionParamsSchema, connectorParamsSchema, userParamsSchema } from '../schemas/ids.ts'
import {
  accessTokenResponseSchema,
  connectionListSchema,
  deletedCountSchema,
  pushTokenSetBodySchema,
  pushTokenSetResponseSchema,
  readAccessTokenQuerySchema,
} from './token-set.schemas.ts'
import type { TokenSetService } from './token-set.service.ts'

export interface TokenSetRoutesOptions {
  tokenSets: TokenSetService
}

const userPath = '/tenants/:tenantId/users/:userId/connections'
const connectionPath = `${userPath}/:connectorType/:connectorId`

const pushTokenSetSchema = {
  operationId: 'pushTokenSet',
  tags: ['token sets'],
  summary: "Store the provider's token response for a user's connection (identity core, after sign-in)",
  params: connectionParamsSchema,
  body: pushTokenSetBodySchema,
  response: {
    200: pushTokenSetResponseSchema.describe('Updated, or ignored_stale'),
    201: pushTokenSetResponseSchema.describe('Created'),
    ...errorResponses(401, 403, 400, 413, 415),
  },
}

const readAccessTokenSchema = {
  operationId: 'readAccessToken',
  tags: ['token sets'],
  summary: "Read the connection's access token in the shape apps expect (account API)",
  params: connectionParamsSchema,
  querystring: readAccessTokenQuerySchema,
  response: {
    200: accessTokenResponseSchema.describe('The access token, refreshed first if it was about to expire'),
    ...errorResponses(401, 403, 400, 404, 409, 502, 503),
  },
}

const listConnectionsSchema = {
  operationId: 'listConnections',
  tags: ['token sets'],
  summary: "List a user's stored connections: metadata only, never a token",
  params: userParamsSchema,
  response: { 200: connectionListSchema.describe("The user's connections"), ...errorResponses(401, 403, 400) },
}

const deleteTokenSetSchema = {
  operationId: 'deleteTokenSet',
  tags: ['token sets'],
  summary: "Delete one connection's token set (the user unlinked the identity)",
  params: connectionParamsSchema,
  response: { 200: deletedCountSchema.describe('How many token sets were deleted'), ...errorResponses(401, 403, 400) },
}

const deleteUserTokenSetsSchema = {
  operationId: 'deleteUserTokenSets',
  tags: ['token sets'],
  summary: "Delete all of a user's token sets (the user was deleted)",
  params: userParamsSchema,
  response: { 200: deletedCountSchema.describe('How many token sets were deleted'), ...errorResponses(401, 403, 400) },
}

const deleteConnectorTokenSetsSchema = {
  operationId: 'deleteConnectorTokenSets',
  tags: ['token sets'],
  summary: 'Delete all token sets of a connector (connector deleted or token storage turned off)',
  params: connectorParamsSchema,
  response: { 200: deletedCountSchema.describe('How many token sets were deleted'), ...errorResponses(401, 403, 400) },
}

/** Routes validate, authorize (config.scope) and map; the service holds the rules. Each leaves an audit event. */
export const tokenSetRoutes: FastifyPluginAsyncZod<TokenSetRoutesOptions> = async (app, { tokenSets }) => {
  app.put(
    `${connectionPath}/token-set`,
    {
      config: { scope: SCOPES.tokenSetsWrite, audit: 'token_set.push', auditSuccessRecordedByService: true },
      schema: pushTokenSetSchema,
    },
    async (request, reply) => {
      const outcome = await tokenSets.pushTokenSet(request.params, request.body, {
        requestId: request.id,
        clientId: request.caller?.clientId ?? null,
        callerRequestId: request.callerRequestId,
      })
      return reply.code(outcome.result === 'created' ? 201 : 200).send(outcome)
    },
  )

  app.get(
    `${connectionPath}/access-token`,
    {
      config: { scope: SCOPES.tokenSetsRead, audit: 'token_set.read', auditSuccessRecordedByService: true },
      schema: readAccessTokenSchema,
    },
    async (request) =>
      tokenSets.readAccessToken(request.params, {
        requiredScopes: request.query.required_scopes,
        context: { requestId: request.id, clientId: request.caller?.clientId ?? null, callerRequestId: request.callerRequestId },
      }),
  )

  app.get(
    userPath,
    {
      config: { scope: SCOPES.connectionsRead, audit: 'connection.list' },
      schema: listConnectionsSchema,
    },
    async (request) => ({
      connections: await tokenSets.listConnections(request.params.tenantId, request.params.userId),
    }),
  )

  app.delete(
    connectionPath,
    {
      config: { scope: SCOPES.tokenSetsWrite, audit: 'token_set.delete' },
      schema: deleteTokenSetSchema,
    },
    async (request) => tokenSets.deleteTokenSet(request.params),
  )

  app.delete(
    userPath,
    {
      config: { scope: SCOPES.tokenSetsWrite, audit: 'user.token_sets.delete' },
      schema: deleteUserTokenSetsSchema,
    },
    async (request) => tokenSets.deleteUserTokenSets(request.params.tenantId, request.params.userId),
  )

  app.delete(
    '/tenants/:tenantId/connectors/:connectorType/:connectorId/token-sets',
    {
      config: { scope: SCOPES.tokenSetsWrite, audit: 'connector.token_sets.delete' },
      schema: deleteConnectorTokenSetsSchema,
    },
    async (request) =>
      tokenSets.deleteConnectorTokenSets(request.params.tenantId, request.params.connectorType, request.params.connectorId),
  )
}
