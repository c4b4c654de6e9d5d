import type { Logger } from 'pino'
import { type Config, ConfigError } from './config.ts'
import { type Database, openDatabase } from './db/database.ts'
import { bootstrapRoles, migrateToLatest, pendingMigrations } from './db/migrate.ts'
import { createDataKeyRing, type DataKeyRing } from './keys/data-key-ring.ts'
import type { ObservedKeyProvider } from './keys/instrumented-key-provider.ts'
import { instrumentKeyProvider } from './keys/instrumented-key-provider.ts'
import { createKeyProviderFromConfig } from './keys/key-provider-from-config.ts'
import { createMetrics, type Metrics } from './observability/metrics.ts'

export interface Runtime {
  database: Database
  keyProvider: ObservedKeyProvider
  keyRing: DataKeyRing
  metrics: Metrics
  close(): Promise<void>
}

/**
 * Opens what the service and the CLI share. The embedded database belongs to this process (it is its
 * owner and superuser): it is bootstrapped and migrated on open. A PostgreSQL server must have been
 * bootstrapped by an administrator and migrated by the `migrate` command, and the runtime refuses to start
 * otherwise: the service and the CLI log in as members of roles that may change no schema.
 */
export async function openRuntime(config: Config, logger: Logger, options: { createEmbedded: boolean }): Promise<Runtime> {
  const metrics = createMetrics()
  const database = await openDatabase(
    config.database.kind === 'postgres'
      ? config.database
      : { kind: 'pglite', dataDir: config.database.dataDir, mustExist: !options.createEmbedded },
  )
  let keyProvider: ObservedKeyProvider | undefined
  try {
    if (database.kind === 'pglite') {
      await bootstrapRoles(database.db)
      await migrateToLatest(database.db)
    } else {
      const pending = await pendingMigrations(database.db)
      if (pending.length > 0) {
        throw new ConfigError(
          `the database lacks ${pending.length} migration(s) (${pending.join(', ')}): ` +
            "run `secret-vault migrate` (or the migration job) as the tables' owner first",
        )
      }
    }
    keyProvider = instrumentKeyProvider(await createKeyProviderFromConfig(config, logger), metrics, logger)
  } catch (error) {
    keyProvider?.close()
    await database.close()
    throw error
  }
  const keyRing = createDataKeyRing({
    provider: keyProvider,
    ttlMs: config.dataKeyCache.ttlMs,
    maxEntries: config.dataKeyCache.maxEntries,
    onLookup: (result) => metrics.dataKeyCacheLookups.inc({ result }),
  })
  const provider = keyProvider
  return {
    database,
    keyProvider: provider,
    keyRing,
    metrics,
    close: async () => {
      provider.close()
      await database.close()
    },
  }
}
