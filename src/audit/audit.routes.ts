import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { SCOPES } from '../auth/scopes.ts'
import { errorResponses } from '../http/error-response.ts'
import { auditPageSchema, auditParamsSchema, auditQuerySchema } from './audit.schemas.ts'
import type { AuditService } from './audit.service.ts'

export const auditRoutes: FastifyPluginAsyncZod<{ audit: AuditService }> = async (app, { audit }) => {
  app.get(
    '/tenants/:tenantId/audit-events',
    {
      config: { scope: SCOPES.auditRead, audit: 'audit.list' },
      schema: {
        operationId: 'listAuditEvents',
        tags: ['audit'],
        summary: "List a tenant's audit events, newest first, with filters and cursor pagination",
        params: auditParamsSchema,
        querystring: auditQuerySchema,
        response: { 200: auditPageSchema.describe('A page of events, newest first'), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => audit.list(request.params.tenantId, request.query),
  )
}
