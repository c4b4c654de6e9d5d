import { z } from 'zod'

/**
 * The ids every feature names things by, and the path parameters built from them. They sit beneath every
 * feature: the audit trail, the connectors and the CLI validate the same ids the token-set API does.
 */
const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/
const idDescription = '1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit'

// Examples are what /docs fills in for "Try it out" (otherwise it makes values up from the pattern).
export const tenantIdSchema = z.string().regex(ID).describe(`Tenant id: ${idDescription}`).meta({ example: 'acme' })
export const userIdSchema = z.string().regex(ID).describe(`User id: ${idDescription}`).meta({ example: 'alice' })
export const connectorIdSchema = z.string().regex(ID).describe(`Connector id: ${idDescription}`).meta({ example: 'github' })
export const connectorTypeSchema = z.enum(['social', 'enterprise_sso'])

export const userParamsSchema = z.object({ tenantId: tenantIdSchema, userId: userIdSchema })
export const connectionParamsSchema = userParamsSchema.extend({
  connectorType: connectorTypeSchema,
  connectorId: connectorIdSchema,
})
export const connectorParamsSchema = z.object({
  tenantId: tenantIdSchema,
  connectorType: connectorTypeSchema,
  connectorId: connectorIdSchema,
})
