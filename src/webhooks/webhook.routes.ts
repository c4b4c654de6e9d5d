import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { SCOPES } from '../auth/scopes.ts'
import { errorResponses } from '../http/error-response.ts'
import {
  createdWebhookSchema,
  createWebhookBodySchema,
  deletedWebhookSchema,
  rotatedWebhookSecretSchema,
  rotateWebhookSecretBodySchema,
  tenantParamsSchema,
  testDeliverySchema,
  webhookDeliveriesQuerySchema,
  webhookDeliveryListSchema,
  webhookEndpointSchema,
  webhookListSchema,
  webhookParamsSchema,
} from './webhook.schemas.ts'
import type { WebhookService } from './webhook.service.ts'

const webhooksPath = '/tenants/:tenantId/webhooks'
const webhookPath = `${webhooksPath}/:webhookId`

/** A tenant's webhook endpoints: where the vault sends signed lifecycle events (see README, Events). */
export const webhookRoutes: FastifyPluginAsyncZod<{ webhooks: WebhookService }> = async (app, { webhooks }) => {
  app.post(
    webhooksPath,
    {
      config: { scope: SCOPES.webhooksManage, audit: 'webhook.create' },
      schema: {
        operationId: 'createWebhook',
        tags: ['webhooks'],
        summary: 'Register a webhook endpoint; its signing secret is in this answer and never again',
        params: tenantParamsSchema,
        body: createWebhookBodySchema,
        response: { 201: createdWebhookSchema.describe('Registered'), ...errorResponses(401, 403, 400, 413, 415) },
      },
    },
    async (request, reply) => {
      const created = await webhooks.create(request.params.tenantId, request.body)
      request.auditKeyVersion = created.key_version
      return reply.code(201).header('cache-control', 'no-store').send(created)
    },
  )

  app.get(
    webhooksPath,
    {
      config: { scope: SCOPES.webhooksManage, audit: 'webhook.list' },
      schema: {
        operationId: 'listWebhooks',
        tags: ['webhooks'],
        summary: "List the tenant's webhook endpoints (never a secret)",
        params: tenantParamsSchema,
        response: { 200: webhookListSchema.describe('The endpoints, oldest first'), ...errorResponses(401, 403, 400) },
      },
    },
    async (request) => ({ webhooks: await webhooks.list(request.params.tenantId) }),
  )

  app.get(
    webhookPath,
    {
      config: { scope: SCOPES.webhooksManage, audit: 'webhook.read' },
      schema: {
        operationId: 'getWebhook',
        tags: ['webhooks'],
        summary: 'Read one webhook endpoint (never its secret)',
        params: webhookParamsSchema,
        response: { 200: webhookEndpointSchema.describe('The endpoint'), ...errorResponses(401, 403, 400, 404) },
      },
    },
    async (request) => webhooks.get(request.params.tenantId, request.params.webhookId),
  )

  app.delete(
    webhookPath,
    {
      config: { scope: SCOPES.webhooksManage, audit: 'webhook.delete' },
      schema: {
        operationId: 'deleteWebhook',
        tags: ['webhooks'],
        summary: 'Delete a webhook endpoint and its pending deliveries',
        params: webhookParamsSchema,
        response: { 200: deletedWebhookSchema.describe('How many endpoints were deleted (0 or 1)'), ...errorResponses(401, 403, 400) },
      },
    },
    async (request) => ({ deleted: await webhooks.delete(request.params.tenantId, request.params.webhookId) }),
  )

  app.post(
    `${webhookPath}/rotate-secret`,
    {
      config: { scope: SCOPES.webhooksManage, audit: 'webhook.rotate_secret' },
      schema: {
        operationId: 'rotateWebhookSecret',
        tags: ['webhooks'],
        summary: 'Replace the signing secret; the old one keeps signing beside it for the overlap, so receivers can switch',
        params: webhookParamsSchema,
        body: rotateWebhookSecretBodySchema,
        response: {
          200: rotatedWebhookSecretSchema.describe('The new secret, shown this once'),
          ...errorResponses(401, 403, 400, 404, 415),
        },
      },
    },
    async (request, reply) => {
      const rotated = await webhooks.rotateSecret(request.params.tenantId, request.params.webhookId, request.body.overlap_seconds)
      request.auditKeyVersion = rotated.key_version
      return reply.header('cache-control', 'no-store').send(rotated)
    },
  )

  app.get(
    `${webhookPath}/deliveries`,
    {
      config: { scope: SCOPES.webhooksManage, audit: 'webhook.deliveries.list' },
      schema: {
        operationId: 'listWebhookDeliveries',
        tags: ['webhooks'],
        summary: "The endpoint's deliveries, newest first: state, attempts, the last status or error",
        params: webhookParamsSchema,
        querystring: webhookDeliveriesQuerySchema,
        response: { 200: webhookDeliveryListSchema.describe('Deliveries'), ...errorResponses(401, 403, 400, 404) },
      },
    },
    async (request) => ({
      deliveries: await webhooks.listDeliveries(request.params.tenantId, request.params.webhookId, request.query),
    }),
  )

  app.post(
    `${webhookPath}/test`,
    {
      config: { scope: SCOPES.webhooksManage, audit: 'webhook.test' },
      schema: {
        operationId: 'testWebhook',
        tags: ['webhooks'],
        summary: 'Queue a webhook.test event for this endpoint alone',
        params: webhookParamsSchema,
        response: { 202: testDeliverySchema.describe('Queued'), ...errorResponses(401, 403, 400, 404) },
      },
    },
    async (request, reply) =>
      reply.code(202).send({ event_id: await webhooks.sendTest(request.params.tenantId, request.params.webhookId) }),
  )
}
