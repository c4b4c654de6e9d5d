import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { Kysely } from 'kysely'
import { z } from 'zod'
import { SCOPES } from '../auth/scopes.ts'
import type { DB } from '../db/schema.ts'
import { inTenantTransaction } from '../db/tenant-scope.ts'
import { errorResponses } from '../http/error-response.ts'
import { deleteAttempts, deleteFactors } from '../mfa/mfa.repository.ts'
import { userParamsSchema } from '../schemas/ids.ts'
import { deleteTokenSetsOfUser } from '../token-sets/token-set.repository.ts'
import { deleteUserSecretsOfUser } from '../user-secrets/user-secret.repository.ts'

const deletedUserSchema = z.object({
  token_sets_deleted: z.number().int(),
  user_secrets_deleted: z.number().int(),
  mfa_factors_deleted: z.number().int(),
  revocations_scheduled: z.number().int().describe('Refresh tokens queued for revocation at the provider'),
})

/** The user was deleted: everything the vault holds for them goes, in one transaction. */
export const userRoutes: FastifyPluginAsyncZod<{ db: Kysely<DB> }> = async (app, { db }) => {
  app.delete(
    '/tenants/:tenantId/users/:userId',
    {
      config: { scope: SCOPES.usersDelete, audit: 'user.delete' },
      schema: {
        operationId: 'deleteUser',
        tags: ['users'],
        summary: 'Delete everything the vault holds for a user: token sets, named secrets, MFA factors (the user was deleted)',
        params: userParamsSchema,
        response: { 200: deletedUserSchema.describe('What was deleted'), ...errorResponses(401, 403, 400) },
      },
    },
    async (request) => {
      const { tenantId, userId } = request.params
      return inTenantTransaction(db, tenantId, async (trx) => {
        const tokenSets = await deleteTokenSetsOfUser(trx, tenantId, userId)
        const deleted = {
          token_sets_deleted: tokenSets.deleted,
          user_secrets_deleted: await deleteUserSecretsOfUser(trx, tenantId, userId),
          mfa_factors_deleted: await deleteFactors(trx, tenantId, userId, undefined),
          revocations_scheduled: tokenSets.revocations_scheduled,
        }
        await deleteAttempts(trx, tenantId, userId)
        return deleted
      })
    },
  )
}
