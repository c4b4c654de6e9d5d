// The baseline the vault is measured against: fastify + kysely + pg storing the same token response as
// plain JSON, with the same routes, pool size and logging. No encryption, no tenant isolation.
import Fastify from 'fastify'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'

const db = new Kysely<any>({
  dialect: new PostgresDialect({
    pool: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_MAX ?? 10) }),
  }),
})
await sql`CREATE TABLE IF NOT EXISTS baseline_token_sets (
  tenant_id text, user_id text, connector_type text, connector_id text, body jsonb NOT NULL,
  issued_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id, connector_type, connector_id))`.execute(db)

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'warn' } })
const path = '/v1/tenants/:tenantId/users/:userId/connections/:connectorType/:connectorId'
type Params = { tenantId: string; userId: string; connectorType: string; connectorId: string }

app.put<{ Params: Params; Body: { token_response: Record<string, unknown> } }>(`${path}/token-set`, async (request) => {
  const { tenantId, userId, connectorType, connectorId } = request.params
  const row = await db
    .insertInto('baseline_token_sets')
    .values({
      tenant_id: tenantId,
      user_id: userId,
      connector_type: connectorType,
      connector_id: connectorId,
      body: JSON.stringify(request.body),
    })
    .onConflict((c) =>
      c
        .columns(['tenant_id', 'user_id', 'connector_type', 'connector_id'])
        .doUpdateSet({ body: sql`excluded.body`, updated_at: sql`now()` }),
    )
    .returning(['tenant_id', 'user_id', 'connector_type', 'connector_id', 'issued_at', 'updated_at'])
    .executeTakeFirstOrThrow()
  return { result: 'stored', connection: row }
})

app.get<{ Params: Params }>(`${path}/access-token`, async (request, reply) => {
  const { tenantId, userId, connectorType, connectorId } = request.params
  const row = await db
    .selectFrom('baseline_token_sets')
    .select(['body'])
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .where('connector_type', '=', connectorType)
    .where('connector_id', '=', connectorId)
    .executeTakeFirst()
  if (row === undefined) return reply.code(404).send({ code: 'token_set.not_found' })
  const response = row.body.token_response
  return {
    access_token: response.access_token,
    token_type: response.token_type ?? 'Bearer',
    scope: response.scope ?? '',
    expires_in: response.expires_in ?? null,
  }
})

const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' })
process.stdout.write(`listening on ${address}\n`)
process.on(
  'SIGTERM',
  () =>
    void app
      .close()
      .then(() => db.destroy())
      .then(() => process.exit(0)),
)
