import type { Kysely } from 'kysely'
import { openRecord, sealRecord, USER_SECRET } from '../crypto/record-binding.ts'
import type { DB } from '../db/schema.ts'
import { inTenantTransaction } from '../db/tenant-scope.ts'
import { VaultError } from '../errors.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import type { UserSecretKey, UserSecretRow } from './user-secret.repository.ts'
import * as repository from './user-secret.repository.ts'
import type { PutUserSecretBody, UserSecret, UserSecretMetadata } from './user-secret.schemas.ts'

export interface UserSecretService {
  put(key: UserSecretKey, body: PutUserSecretBody): Promise<{ created: boolean; secret: UserSecretMetadata }>
  read(key: UserSecretKey): Promise<UserSecret>
  list(tenantId: string, userId: string): Promise<UserSecretMetadata[]>
  delete(key: UserSecretKey): Promise<number>
}

function toMetadata(row: UserSecretRow): UserSecretMetadata {
  return {
    tenant_id: row.tenant_id,
    user_id: row.user_id,
    name: row.name,
    kind: row.kind,
    labels: row.labels,
    key_version: row.key_version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

const bindingOf = (key: UserSecretKey, kind: string) => ({ tenant_id: key.tenantId, user_id: key.userId, name: key.name, kind })

/** A user's named secrets: sealed under the tenant's active data key, bound to tenant, user, name and kind. */
export function createUserSecretService({ db, keyRing }: { db: Kysely<DB>; keyRing: DataKeyRing }): UserSecretService {
  return {
    put: (key, body) =>
      inTenantTransaction(db, key.tenantId, async (trx) => {
        const active = await keyRing.activeKey(trx, key.tenantId)
        const value = Buffer.from(body.value, 'utf8')
        const { created, ...row } = await repository.upsertUserSecret(trx, key, {
          kind: body.kind,
          labels: body.labels,
          key_version: active.version,
          value_sealed: sealRecord(USER_SECRET, active.key, bindingOf(key, body.kind), active.version, value),
        })
        value.fill(0)
        return { created, secret: toMetadata(row) }
      }),

    async read(key) {
      const row = await inTenantTransaction(db, key.tenantId, (trx) => repository.findUserSecretWithValue(trx, key))
      if (row === undefined) throw new VaultError('user_secret.not_found', 'The user has no secret of this name')
      // Opened under the row's own name and kind: a value moved to another row, or a kind changed, fails here.
      const value = openRecord(USER_SECRET, await keyRing.unwrap(row.dataKey), bindingOf(key, row.kind), row.key_version, row.value_sealed)
      return { ...toMetadata(row), value: value.toString('utf8') }
    },

    list: async (tenantId, userId) =>
      (await inTenantTransaction(db, tenantId, (trx) => repository.listUserSecrets(trx, tenantId, userId))).map(toMetadata),

    delete: (key) => inTenantTransaction(db, key.tenantId, (trx) => repository.deleteUserSecret(trx, key)),
  }
}
