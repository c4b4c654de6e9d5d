import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { SCOPES } from '../auth/scopes.ts'
import { errorResponses } from '../http/error-response.ts'
import {
  acceptedSchema,
  backupCodeListSchema,
  bindBackupCodesBodySchema,
  bindTotpBodySchema,
  consumeBackupCodeBodySchema,
  consumedSchema,
  deletedFactorsSchema,
  factorListSchema,
  factorSchema,
  generatedBackupCodesSchema,
  generatedTotpSchema,
  generateTotpBodySchema,
  mfaFactorParamsSchema,
  mfaParamsSchema,
  verifyTotpBodySchema,
} from './mfa.schemas.ts'
import type { MfaService } from './mfa.service.ts'

const mfaPath = '/tenants/:tenantId/users/:userId/mfa'
const user = (params: { tenantId: string; userId: string }) => ({ tenantId: params.tenantId, userId: params.userId })

/**
 * A user's MFA factors. Enrolling (mfa:enroll) sees a seed or a code set once; verifying (mfa:verify) learns
 * only whether a code was accepted; reading backup codes back (mfa:read) is a scope of its own.
 */
export const mfaRoutes: FastifyPluginAsyncZod<{ mfa: MfaService }> = async (app, { mfa }) => {
  app.post(
    `${mfaPath}/totp/generate`,
    {
      config: { scope: SCOPES.mfaEnroll, audit: 'mfa.totp.generate' },
      schema: {
        operationId: 'generateTotpSecret',
        tags: ['mfa'],
        summary: 'Generate a TOTP seed for the user: a pending enrolment that expires unless bound (the seed is returned this once)',
        params: mfaParamsSchema,
        body: generateTotpBodySchema,
        response: { 201: generatedTotpSchema.describe('The pending factor and its seed'), ...errorResponses(401, 403, 400, 413, 415) },
      },
    },
    async (request, reply) => {
      const generated = await mfa.generateTotp(user(request.params), {
        issuer: request.body.issuer,
        accountName: request.body.account_name,
      })
      request.auditKeyVersion = generated.factor.key_version
      return reply.code(201).send({
        factor: generated.factor,
        secret: generated.secret,
        otpauth_uri: generated.otpauthUri,
        qr_code_svg: generated.qrCodeSvg,
      })
    },
  )

  app.post(
    `${mfaPath}/totp/bind`,
    {
      config: { scope: SCOPES.mfaEnroll, audit: 'mfa.totp.bind' },
      schema: {
        operationId: 'bindTotp',
        tags: ['mfa'],
        summary: "Bind a pending TOTP enrolment with a current code; it replaces the user's TOTP factor, if any",
        params: mfaParamsSchema,
        body: bindTotpBodySchema,
        response: { 200: factorSchema.describe('The bound factor'), ...errorResponses(401, 403, 400, 404, 413, 415, 422, 429) },
      },
    },
    async (request) => mfa.bindTotp(user(request.params), request.body.factor_id, request.body.code),
  )

  app.post(
    `${mfaPath}/totp/verify`,
    {
      config: { scope: SCOPES.mfaVerify, audit: 'mfa.totp.verify' },
      schema: {
        operationId: 'verifyTotp',
        tags: ['mfa'],
        summary: "Verify a code of the user's TOTP factor: each time step is accepted once",
        params: mfaParamsSchema,
        body: verifyTotpBodySchema,
        response: { 200: acceptedSchema.describe('Accepted'), ...errorResponses(401, 403, 400, 404, 413, 415, 422, 429) },
      },
    },
    async (request) => ({ verified: true as const, factor: await mfa.verifyTotp(user(request.params), request.body.code) }),
  )

  app.post(
    `${mfaPath}/backup-codes/generate`,
    {
      config: { scope: SCOPES.mfaEnroll, audit: 'mfa.backup_codes.generate' },
      schema: {
        operationId: 'generateBackupCodes',
        tags: ['mfa'],
        summary: 'Generate a set of backup codes: pending until bound, then it replaces the current set at once',
        params: mfaParamsSchema,
        response: { 201: generatedBackupCodesSchema.describe('The pending set'), ...errorResponses(401, 403, 400) },
      },
    },
    async (request, reply) => {
      const generated = await mfa.generateBackupCodes(user(request.params))
      request.auditKeyVersion = generated.factor.key_version
      return reply.code(201).send(generated)
    },
  )

  app.post(
    `${mfaPath}/backup-codes/bind`,
    {
      config: { scope: SCOPES.mfaEnroll, audit: 'mfa.backup_codes.bind' },
      schema: {
        operationId: 'bindBackupCodes',
        tags: ['mfa'],
        summary: "Bind a pending set of backup codes; it replaces the user's set, if any, in one step",
        params: mfaParamsSchema,
        body: bindBackupCodesBodySchema,
        response: { 200: factorSchema.describe('The bound set'), ...errorResponses(401, 403, 400, 404, 413, 415) },
      },
    },
    async (request) => mfa.bindBackupCodes(user(request.params), request.body.factor_id),
  )

  app.get(
    `${mfaPath}/backup-codes`,
    {
      config: { scope: SCOPES.mfaRead, audit: 'mfa.backup_codes.list' },
      schema: {
        operationId: 'listBackupCodes',
        tags: ['mfa'],
        summary: "Read the user's bound backup codes back, each with when it was used",
        params: mfaParamsSchema,
        response: { 200: backupCodeListSchema.describe('The bound set'), ...errorResponses(401, 403, 400, 404) },
      },
    },
    async (request) => {
      const list = await mfa.listBackupCodes(user(request.params))
      request.auditKeyVersion = list.factor.key_version
      return list
    },
  )

  app.post(
    `${mfaPath}/backup-codes/consume`,
    {
      config: { scope: SCOPES.mfaVerify, audit: 'mfa.backup_codes.consume' },
      schema: {
        operationId: 'consumeBackupCode',
        tags: ['mfa'],
        summary: 'Use one of the backup codes: each is accepted exactly once',
        params: mfaParamsSchema,
        body: consumeBackupCodeBodySchema,
        response: { 200: consumedSchema.describe('Accepted and used up'), ...errorResponses(401, 403, 400, 404, 413, 415, 422, 429) },
      },
    },
    async (request) => ({ verified: true as const, ...(await mfa.consumeBackupCode(user(request.params), request.body.code)) }),
  )

  app.get(
    mfaPath,
    {
      config: { scope: SCOPES.mfaVerify, audit: 'mfa.factors.list' },
      schema: {
        operationId: 'listMfaFactors',
        tags: ['mfa'],
        summary: "List the user's MFA factors: metadata only",
        params: mfaParamsSchema,
        response: { 200: factorListSchema.describe("The user's factors"), ...errorResponses(401, 403, 400) },
      },
    },
    async (request) => ({ factors: await mfa.listFactors(user(request.params)) }),
  )

  app.delete(
    `${mfaPath}/:type`,
    {
      config: { scope: SCOPES.mfaEnroll, audit: 'mfa.factor.delete' },
      schema: {
        operationId: 'deleteMfaFactor',
        tags: ['mfa'],
        summary: "Remove the user's factor of a type, bound and pending",
        params: mfaFactorParamsSchema,
        response: { 200: deletedFactorsSchema.describe('How many factors were deleted'), ...errorResponses(401, 403, 400) },
      },
    },
    async (request) => ({ deleted: await mfa.deleteFactors(user(request.params), request.params.type) }),
  )
}
