import type { Kysely } from 'kysely'
import type { DB } from '../db/schema.ts'
import { countTokenSets } from '../db/vault-functions.ts'
import { healthOf } from './connection.ts'
import type { Connection } from './token-set.schemas.ts'

/** Every tenant's connections by health, derived as for one connection (healthOf); no tenant, no user. */
export async function countConnectionsByHealth(db: Kysely<DB>): Promise<Record<Connection['health'], number>> {
  const counts: Record<Connection['health'], number> = { active: 0, refresh_failing: 0, reauth_required: 0 }
  for (const group of await countTokenSets(db)) {
    counts[healthOf({ state: group.state, refresh_failures: group.refresh_failing ? 1 : 0 })] += group.count
  }
  return counts
}
