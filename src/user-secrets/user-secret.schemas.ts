import { z } from 'zod'
import { userParamsSchema } from '../schemas/ids.ts'
import { clearText } from '../schemas/text.ts'

/** Wire schemas of a user's named secrets; openapi.yaml is generated from them. */
export const USER_SECRET_KINDS = ['api_key', 'password', 'generic'] as const

const secretNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/)
  .describe("The secret's name, unique per user: 1–128 characters of letters, digits and . _ : @ -, starting with a letter or digit")
  .meta({ example: 'openai' })

export const userSecretParamsSchema = userParamsSchema.extend({ name: secretNameSchema })

const labelsSchema = z
  .record(clearText(1, 64), clearText(0, 256))
  .refine((labels) => Object.keys(labels).length <= 20, 'at most 20 labels')
  .describe('Metadata in the clear (never put a secret here): up to 20 names of 1–64 characters, values up to 256')

export const putUserSecretBodySchema = z
  .strictObject({
    kind: z.enum(USER_SECRET_KINDS),
    value: z.string().min(1).max(8192).describe('The secret, sealed under the tenant data key; returned only by readUserSecret'),
    labels: labelsSchema.default({}),
  })
  .meta({ example: { kind: 'api_key', value: 'sk-example', labels: { provider: 'openai' } } })

export const userSecretMetadataSchema = z.object({
  tenant_id: z.string(),
  user_id: z.string(),
  name: z.string(),
  kind: z.enum(USER_SECRET_KINDS),
  labels: z.record(z.string(), z.string()),
  key_version: z.number().int().describe('The tenant data-key version the value is sealed under'),
  created_at: z.string(),
  updated_at: z.string(),
})

export const userSecretSchema = userSecretMetadataSchema.extend({ value: z.string() })
export const userSecretListSchema = z.object({ secrets: z.array(userSecretMetadataSchema).describe('By name; never a value') })
export const deletedSchema = z.object({ deleted: z.number().int() })

export type PutUserSecretBody = z.infer<typeof putUserSecretBodySchema>
export type UserSecretMetadata = z.infer<typeof userSecretMetadataSchema>
export type UserSecret = z.infer<typeof userSecretSchema>
