import type { Logger } from 'pino'
import { ConfigError, type Config } from './config.ts'
import { openDatabase, type Database } from './db/database.ts'
import { createMigrator, migrateToLatest } from './db/migrate.ts'
import { createDataKeyRing, type DataKeyRing } from './keys/data-key-ring.ts'
import { createKeyProviderFromConfig } from './keys/key-provider-from-config.ts'
import { instrumentKeyProvider } from './keys/instrumented-key-provider.ts'
import type { KeyProvider } from './keys/key-provider.ts'
import { createMetrics, type Metrics } from './observability/metrics.ts'

export interface Runtime {
  database: Database
  keyProvider: KeyProvider
  keyRing: DataKeyRing
  metrics: Metrics
  close(): Promise<void>
}

/**
 * Opens what the service and the CLI share. The embedded database is migrated on open; a PostgreSQL
 * server must have been migrated by the `migrate` command, and the runtime refuses to start otherwise.
 */
export async function openRuntime(config: Config, logger: Logger, options: { migrate?: boolean } = {}): Promise<Runtime> {
  const metrics = createMetrics()
  const keyProvider = instrumentKeyProvider(await createKeyProviderFromConfig(config, logger), metrics)
  const database = await openDatabase(
    config.database.kind === 'postgres' ? config.database : { kind: 'pglite', dataDir: config.database.dataDir },
  )
  try {
    if (database.kind === 'pglite' || options.migrate === true) {
      await migrateToLatest(database.db)
    } else {
      const pending = (await createMigrator(database.db).getMigrations()).filter((m) => m.executedAt === undefined)
      if (pending.length > 0) {
        throw new ConfigError(
          `the database lacks ${pending.length} migration(s) (${pending.map((m) => m.name).join(', ')}): ` +
            'run `npm run migrate` (or the migration job) first',
        )
      }
    }
  } catch (error) {
    await database.close()
    keyProvider.close()
    throw error
  }
  const keyRing = createDataKeyRing({
    provider: keyProvider,
    ttlMs: config.dataKeyCache.ttlMs,
    maxEntries: config.dataKeyCache.maxEntries,
    onLookup: (result) => metrics.dataKeyCacheLookups.inc({ result }),
  })
  return { database, keyProvider, keyRing, metrics,
    close: async () => {
      keyProvider.close()
      await database.close()
    },
  }
}
