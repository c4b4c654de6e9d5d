import { z } from 'zod'
import { tenantIdSchema } from '../schemas/ids.ts'
import { clearText, clearUrl } from '../schemas/text.ts'
import { EVENT_TYPE_NAMES, EVENT_TYPES } from './event-types.ts'

export const eventTypeSchema = z.enum(EVENT_TYPE_NAMES).describe(
  Object.entries(EVENT_TYPES)
    .map(([type, meaning]) => `\`${type}\`: ${meaning}`)
    .join('; '),
)

export const tenantParamsSchema = z.object({ tenantId: tenantIdSchema })
export const webhookParamsSchema = tenantParamsSchema.extend({
  webhookId: z.uuid().describe('The endpoint id the vault assigned').meta({ example: '6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b' }),
})

/** An overlap longer than a week keeps a leaked secret valid too long; 0 drops the old one at once. */
const MAX_OVERLAP_SECONDS = 7 * 86_400

export const createWebhookBodySchema = z
  .strictObject({
    url: clearUrl(2048).describe('Where deliveries are POSTed; the egress policy applies (https, no internal addresses)'),
    event_types: z
      .array(eventTypeSchema)
      .max(EVENT_TYPE_NAMES.length)
      .refine((types) => new Set(types).size === types.length, 'each type once')
      .default([])
      .describe('The types this endpoint receives; empty (the default): every type'),
    description: clearText(0, 256).default(''),
  })
  .meta({ example: { url: 'https://hooks.example.com/secret-vault', event_types: ['connection.reauth_required'] } })

export const rotateWebhookSecretBodySchema = z
  .strictObject({
    overlap_seconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_OVERLAP_SECONDS)
      .default(86_400)
      .describe('How long deliveries stay signed with the old secret too (a second signature), so receivers can switch; default one day'),
  })
  .meta({ example: { overlap_seconds: 3600 } })

export const webhookEndpointSchema = z.object({
  tenant_id: z.string(),
  id: z.string(),
  url: z.string(),
  event_types: z.array(z.string()),
  description: z.string(),
  key_version: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
})

const signingSecretSchema = z
  .string()
  .describe('The signing secret, shown this once (whsec_ and base64, as Standard Webhooks libraries take it); the vault keeps it sealed')

export const createdWebhookSchema = webhookEndpointSchema.extend({ secret: signingSecretSchema })
export const rotatedWebhookSecretSchema = webhookEndpointSchema.extend({
  secret: signingSecretSchema,
  previous_secret_expires_at: z.string().nullable().describe('Until then deliveries carry a signature with the old secret too'),
})
export const webhookListSchema = z.object({ webhooks: z.array(webhookEndpointSchema) })
export const deletedWebhookSchema = z.object({ deleted: z.number().int().min(0).max(1) })

export const webhookDeliverySchema = z.object({
  id: z.string(),
  event_id: z.string().describe('The webhook-id header: the same on every attempt, for deduplication'),
  event_type: z.string(),
  state: z.enum(['pending', 'delivered', 'dead']).describe('dead: given up after the retry period'),
  attempts: z.number().int(),
  next_attempt_at: z.string().nullable().describe('For a pending delivery'),
  last_attempt_at: z.string().nullable(),
  last_status: z.number().int().nullable().describe("The endpoint's HTTP status on the last attempt, if it answered"),
  last_error: z
    .string()
    .nullable()
    .describe('Why the last attempt failed: http_<status>, timeout, connect_failed, redirect, egress.refused, crypto.integrity'),
  delivered_at: z.string().nullable(),
  created_at: z.string(),
})
export const webhookDeliveriesQuerySchema = z.strictObject({
  state: z.enum(['pending', 'delivered', 'dead']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})
export const webhookDeliveryListSchema = z.object({ deliveries: z.array(webhookDeliverySchema) })
export const testDeliverySchema = z.object({ event_id: z.string().describe('The test event; its delivery is listed like any other') })

export type CreateWebhookBody = z.infer<typeof createWebhookBodySchema>
export type WebhookEndpoint = z.infer<typeof webhookEndpointSchema>
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>
