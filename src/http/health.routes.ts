import { sql, type Kysely } from 'kysely'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { DB } from '../db/schema.ts'
import type { KeyProvider } from '../keys/key-provider.ts'

export interface HealthRoutesOptions {
  db: Kysely<DB>
  keyProvider: KeyProvider
}

const checkSchema = z.object({ status: z.enum(['ok', 'failing']), message: z.string().optional() })
const readinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({ database: checkSchema, key_provider: checkSchema }),
})

async function check(probe: () => Promise<unknown>): Promise<z.infer<typeof checkSchema>> {
  try {
    await probe()
    return { status: 'ok' }
  } catch (error) {
    // Provider messages say what is misconfigured (access denied, disabled key); they carry no secret.
    return { status: 'failing', message: error instanceof Error ? error.message : 'unknown failure' }
  }
}

export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (app, { db, keyProvider }) => {
  app.get(
    '/healthz',
    {
      // Probes answer even under load: shedding liveness would get a busy replica restarted.
      config: { pressureHandler: () => undefined },
      schema: {
        operationId: 'health',
        tags: ['operations'],
        summary: 'The process is up (liveness)',
        response: { 200: z.object({ status: z.literal('ok') }).describe('The process is up') },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      config: { pressureHandler: () => undefined },
      schema: {
        operationId: 'readiness',
        tags: ['operations'],
        summary: 'The database and the key provider are reachable (readiness)',
        response: { 200: readinessSchema.describe('Ready to serve'), 503: readinessSchema.describe('Not ready: a dependency is unreachable') },
      },
    },
    async (_request, reply) => {
      const [database, provider] = await Promise.all([
        check(() => sql`SELECT 1`.execute(db)),
        check(() => keyProvider.checkHealth()),
      ])
      const ready = database.status === 'ok' && provider.status === 'ok'
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'not_ready', checks: { database, key_provider: provider } })
    },
  )
}
