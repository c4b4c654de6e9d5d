import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { type Kysely, sql } from 'kysely'
import { z } from 'zod'
import type { DB } from '../db/schema.ts'
import { KEY_PROVIDER_STATES, type KeyProviderHealth } from '../keys/instrumented-key-provider.ts'

export interface HealthRoutesOptions {
  db: Kysely<DB>
  keyProvider: { readonly health: KeyProviderHealth }
}

const readinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.object({
    database: z.object({ status: z.enum(['ok', 'failing']) }),
    key_provider: z
      .object({
        status: z.enum(KEY_PROVIDER_STATES),
        since: z.string().describe('When it entered this state (RFC 3339)'),
        message: z.string().optional().describe('What the last failure said: which key, which permission'),
      })
      .describe(
        'How the key provider answered its last real call. Not asked per probe, and not part of readiness: tenants whose keys are cached are served whatever it says',
      ),
  }),
})

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
        summary: "The database answers (readiness); the key provider's state from its last real call",
        response: {
          200: readinessSchema.describe('Ready to serve'),
          503: readinessSchema.describe('Not ready: a dependency is unreachable'),
        },
      },
    },
    async (_request, reply) => {
      const ready = await sql`SELECT 1`.execute(db).then(
        () => true,
        () => false,
      )
      const { state, since, message } = keyProvider.health
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ready' : 'not_ready',
        checks: {
          database: { status: ready ? 'ok' : 'failing' },
          key_provider: { status: state, since: since.toISOString(), ...(message === undefined ? {} : { message }) },
        },
      })
    },
  )
}
