import { z } from 'zod'
import { userParamsSchema } from '../schemas/ids.ts'
import { clearText } from '../schemas/text.ts'

/** Wire schemas of MFA factors; openapi.yaml is generated from them. */
export const mfaParamsSchema = userParamsSchema
export const mfaFactorParamsSchema = userParamsSchema.extend({ type: z.enum(['totp', 'backup_codes']) })

export const factorSchema = z.object({
  id: z.uuid(),
  type: z.enum(['totp', 'backup_codes']),
  state: z.enum(['pending', 'bound']).describe('pending: generated, not yet bound; it expires. bound: in use'),
  key_version: z.number().int(),
  created_at: z.string(),
  expires_at: z.string().nullable().describe('When a pending factor can no longer be bound'),
  bound_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  codes_used: z.number().int().optional().describe('Backup codes: how many of the set were used'),
})

export const generateTotpBodySchema = z
  .strictObject({
    issuer: clearText(1, 128).describe('Shown by the authenticator app above the code, e.g. the product name'),
    account_name: clearText(1, 256).describe("The account's label in the app, e.g. the user's email address"),
  })
  .meta({ example: { issuer: 'Acme', account_name: 'alice@example.com' } })

export const generatedTotpSchema = z.object({
  factor: factorSchema,
  secret: z.string().describe('The seed in base32, for typing into an app; returned this once'),
  otpauth_uri: z.string().describe('otpauth://totp/… (SHA1, 6 digits, 30 s), carrying the seed; returned this once'),
  qr_code_svg: z.string().describe('The otpauth URI as a QR code, an SVG document; returned this once'),
})

const totpCodeSchema = z
  .string()
  .regex(/^[0-9]{6}$/, 'six digits')
  .describe('The six digits the app shows')
const backupCodeSchema = z
  .string()
  .regex(/^[A-Za-z0-9 -]{1,32}$/, 'letters, digits, spaces and hyphens')
  .describe('A backup code as the user typed it: case, spaces and hyphens do not matter')

const FACTOR_ID_EXAMPLE = '0f8fad5b-d9cb-469f-a165-70867728950e'
export const bindTotpBodySchema = z
  .strictObject({ factor_id: z.uuid(), code: totpCodeSchema })
  .meta({ example: { factor_id: FACTOR_ID_EXAMPLE, code: '123456' } })
export const verifyTotpBodySchema = z.strictObject({ code: totpCodeSchema }).meta({ example: { code: '123456' } })
export const bindBackupCodesBodySchema = z.strictObject({ factor_id: z.uuid() }).meta({ example: { factor_id: FACTOR_ID_EXAMPLE } })
export const consumeBackupCodeBodySchema = z.strictObject({ code: backupCodeSchema }).meta({ example: { code: 'a1b2c-d3e4f' } })

export const acceptedSchema = z.object({ verified: z.literal(true), factor: factorSchema })
export const generatedBackupCodesSchema = z.object({
  factor: factorSchema,
  codes: z.array(z.string()).describe('The codes, shown as xxxxx-xxxxx; readable again through listBackupCodes once bound'),
})
export const backupCodeListSchema = z.object({
  factor: factorSchema,
  codes: z.array(z.object({ code: z.string(), used_at: z.string().nullable() })).describe('The bound set, in order'),
})
export const consumedSchema = z.object({
  verified: z.literal(true),
  factor: factorSchema,
  remaining: z.number().int().describe('Unused codes left in the set'),
})
export const factorListSchema = z.object({ factors: z.array(factorSchema).describe('Bound and pending; never a seed or a code') })
export const deletedFactorsSchema = z.object({ deleted: z.number().int() })

export type Factor = z.infer<typeof factorSchema>
export type BackupCodeList = z.infer<typeof backupCodeListSchema>
