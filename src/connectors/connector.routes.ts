import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { SCOPES } from '../auth/scopes.ts'
import { errorResponses } from '../http/error-response.ts'
import {
  connectorParamsSchema,
  deletedConnectorSchema,
  putRefreshSettingsBodySchema,
  refreshSettingsSchema,
} from './refresh-settings.schemas.ts'
import type { RefreshSettingsService } from './refresh-settings.service.ts'

export interface ConnectorRoutesOptions {
  refreshSettings: RefreshSettingsService
}

const connectorPath = '/tenants/:tenantId/connectors/:connectorType/:connectorId'

/** The identity core keeps the vault's view of a connector in step with its own. */
export const connectorRoutes: FastifyPluginAsyncZod<ConnectorRoutesOptions> = async (app, { refreshSettings }) => {
  app.put(
    `${connectorPath}/refresh-settings`,
    {
      config: { scope: SCOPES.connectorsWrite, audit: 'connector.refresh_settings.put' },
      schema: {
        operationId: 'putRefreshSettings',
        tags: ['connectors'],
        summary: "Register how the vault refreshes the connector's token sets (token endpoint, client credentials)",
        params: connectorParamsSchema,
        body: putRefreshSettingsBodySchema,
        response: {
          200: refreshSettingsSchema.describe('Replaced'),
          201: refreshSettingsSchema.describe('Registered'),
          ...errorResponses(401, 403, 400, 413, 415),
        },
      },
    },
    async (request, reply) => {
      const { created, settings } = await refreshSettings.put(request.params, request.body)
      request.auditKeyVersion = settings.key_version
      return reply.code(created ? 201 : 200).send(settings)
    },
  )

  app.get(
    `${connectorPath}/refresh-settings`,
    {
      config: { scope: SCOPES.connectorsWrite, audit: 'connector.refresh_settings.read' },
      schema: {
        operationId: 'getRefreshSettings',
        tags: ['connectors'],
        summary: "Read the connector's refresh settings; the client secret is never returned",
        params: connectorParamsSchema,
        response: { 200: refreshSettingsSchema.describe('The settings, without the client secret'), ...errorResponses(401, 403, 400, 404) },
      },
    },
    async (request) => refreshSettings.get(request.params),
  )

  app.delete(
    connectorPath,
    {
      config: { scope: SCOPES.connectorsWrite, audit: 'connector.delete' },
      schema: {
        operationId: 'deleteConnector',
        tags: ['connectors'],
        summary: 'The connector was deleted: delete its token sets and its refresh settings together',
        params: connectorParamsSchema,
        response: { 200: deletedConnectorSchema.describe('What was deleted'), ...errorResponses(401, 403, 400) },
      },
    },
    async (request) => refreshSettings.deleteConnector(request.params),
  )
}
