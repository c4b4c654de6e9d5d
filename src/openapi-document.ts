import { createSecretKey } from 'node:crypto'
import { createLocalJWKSet } from 'jose'
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely'
import { buildApp } from './app.ts'
import { createAuthenticator } from './auth/authenticator.ts'
import type { DB } from './db/schema.ts'
import { createDataKeyRing } from './keys/data-key-ring.ts'
import { instrumentKeyProvider } from './keys/instrumented-key-provider.ts'
import { createLocalKeyProvider } from './keys/local-key-provider.ts'
import { createLogger } from './logger.ts'
import { createMetrics } from './observability/metrics.ts'
import { renderOpenApi } from './openapi.ts'

/**
 * Renders openapi.yaml from the routes themselves. The app is built with inert dependencies (no database,
 * a throwaway key) because only the route schemas are read.
 */
export async function generateOpenApiDocument(): Promise<string> {
  const db = new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  })
  const logger = createLogger('silent')
  const keyProvider = createLocalKeyProvider([{ id: 'openapi', key: createSecretKey(Buffer.alloc(32)) }], 'openapi')
  const app = await buildApp({
    db,
    keyProvider: instrumentKeyProvider(keyProvider, createMetrics(), logger),
    keyRing: createDataKeyRing({ provider: keyProvider, ttlMs: 1000, maxEntries: 1 }),
    authenticator: createAuthenticator({
      keys: createLocalJWKSet({ keys: [] }),
      issuer: 'openapi',
      audience: 'openapi',
      algorithms: ['ES256'],
      clockToleranceSeconds: 0,
      maxTokenLifetimeSeconds: 86_400,
      requireAccessTokenType: false,
      tenantClaim: 'tenant_ids',
    }),
    logger,
    bodyLimitBytes: 65_536,
  })
  await app.ready()
  const document = renderOpenApi(app)
  await app.close()
  return document
}
