import { z } from 'zod'
import { connectorIdSchema, connectorTypeSchema, tenantIdSchema, userIdSchema } from '../schemas/ids.ts'

const AUDIT_ACTIONS = [
  'token_set.push',
  'token_set.read',
  'token_set.refresh',
  'token_set.delete',
  'token_set.revoke',
  'connection.list',
  'user.token_sets.delete',
  'connector.token_sets.delete',
  'connector.refresh_settings.put',
  'connector.refresh_settings.read',
  'connector.delete',
  'user_secret.put',
  'user_secret.read',
  'user_secret.list',
  'user_secret.delete',
  'mfa.totp.generate',
  'mfa.totp.bind',
  'mfa.totp.verify',
  'mfa.backup_codes.generate',
  'mfa.backup_codes.bind',
  'mfa.backup_codes.list',
  'mfa.backup_codes.consume',
  'mfa.factors.list',
  'mfa.factor.delete',
  'user.delete',
  'webhook.create',
  'webhook.list',
  'webhook.read',
  'webhook.delete',
  'webhook.rotate_secret',
  'webhook.deliveries.list',
  'webhook.test',
  'audit.list',
  'audit.retention',
  'key.rotate',
  'key.reencrypt',
  'key.destroy',
  'key.rotate_root',
  'tenant.shred',
] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]
const AUDIT_OUTCOMES = ['success', 'denied', 'failed'] as const

export const auditParamsSchema = z.object({ tenantId: tenantIdSchema })

export const auditQuerySchema = z.strictObject({
  user_id: userIdSchema.optional(),
  connector_type: connectorTypeSchema.optional(),
  connector_id: connectorIdSchema.optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('Events at or after this time'),
  until: z.iso.datetime({ offset: true }).optional().describe('Events before this time'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/)
    .optional()
    .describe('next_cursor of the previous page'),
})

const auditEventSchema = z.object({
  id: z.string(),
  occurred_at: z.string(),
  client_id: z.string().nullable(),
  action: z.string(),
  outcome: z.enum(AUDIT_OUTCOMES),
  error_code: z.string().nullable(),
  user_id: z.string().nullable(),
  connector_type: z.string().nullable(),
  connector_id: z.string().nullable(),
  request_id: z.string().describe("The vault's id of the request"),
  caller_request_id: z.string().nullable().describe("The caller's own x-request-id, when it sent a well-formed one"),
  key_version: z.number().int().nullable(),
})

export const auditPageSchema = z.object({
  events: z.array(auditEventSchema).describe('Newest first'),
  next_cursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page'),
})

export type AuditQuery = z.infer<typeof auditQuerySchema>
export type AuditPage = z.infer<typeof auditPageSchema>
