import { type Selectable, sql } from 'kysely'
import type { ConnectorType, TokenSetsTable } from '../db/schema.ts'
import type { TenantTransaction } from '../db/tenant-scope.ts'
import { type ConnectionRecord, keepAliveDue, refreshDue, type TokenSetMetadataRow } from '../db/vault-functions.ts'
import type { WrappedDataKey } from '../keys/data-key.repository.ts'

export interface TokenSetKey {
  tenantId: string
  userId: string
  connectorType: ConnectorType
  connectorId: string
}

export type { TokenSetMetadataRow }

/** One string per connection, for maps and caches within a process (never stored). */
export function connectionId(key: TokenSetKey): string {
  return `${key.tenantId}\u0000${key.userId}\u0000${key.connectorType}\u0000${key.connectorId}`
}

/** A connection as the database functions name it. */
export function connectionRecord(key: TokenSetKey): ConnectionRecord {
  return { tenant_id: key.tenantId, user_id: key.userId, connector_type: key.connectorType, connector_id: key.connectorId }
}

export type SealedTokens = Pick<Selectable<TokenSetsTable>, 'access_token_sealed' | 'refresh_token_sealed' | 'id_token_sealed'>

export type TokenSetForUpdate = TokenSetMetadataRow &
  SealedTokens & { refresh_server: string | null; write_id: string; dataKey: WrappedDataKey }

/** What a refresh writes: the tokens and what is bound into them; the connection's identity stays. */
export type RefreshedTokenSetWrite = Pick<
  TokenSetsTable,
  | 'token_type'
  | 'scope'
  | 'expires_at'
  | 'issued_at'
  | 'key_version'
  | 'write_id'
  | 'refresh_token_sealed'
  | 'refresh_server'
  | 'refresh_token_expires_at'
  | 'id_token_sealed'
> & { access_token_sealed: Uint8Array }

const metadataColumnNames = [
  'id',
  'tenant_id',
  'user_id',
  'connector_type',
  'connector_id',
  'target',
  'issuer',
  'provider_subject',
  'token_type',
  'scope',
  'expires_at',
  'state',
  'key_version',
  'issued_at',
  'created_at',
  'updated_at',
  'refresh_token_expires_at',
  'refresh_failures',
  'refresh_failing_since',
  'last_refresh_failure_at',
  'last_refresh_error',
  'next_refresh_at',
] as const
const qualifiedMetadataColumns = metadataColumnNames.map((column) => `ts.${column}` as const)

/** Metadata derived from the sealed columns without reading them out. */
function presenceFlags(table: 'ts' | 'token_sets') {
  return [
    sql<boolean>`${sql.ref(`${table}.refresh_token_sealed`)} IS NOT NULL`.as('has_refresh_token'),
    sql<boolean>`${sql.ref(`${table}.id_token_sealed`)} IS NOT NULL`.as('has_id_token'),
  ]
}

function keyFilter(key: TokenSetKey) {
  return {
    'ts.tenant_id': key.tenantId,
    'ts.user_id': key.userId,
    'ts.connector_type': key.connectorType,
    'ts.connector_id': key.connectorId,
  } as const
}

function dataKeyOf(row: { tenant_id: string; key_version: number; root_key_id: string; wrapped_key: Uint8Array }): WrappedDataKey {
  return { tenantId: row.tenant_id, version: row.key_version, rootKeyId: row.root_key_id, wrappedKey: row.wrapped_key }
}

/** Holds the connection's row (if it has one) for the rest of the transaction: its writers take turns. */
export async function lockTokenSet(trx: TenantTransaction, key: TokenSetKey): Promise<void> {
  await trx
    .selectFrom('token_sets as ts')
    .select('ts.id')
    .where((eb) => eb.and(keyFilter(key)))
    .forUpdate()
    .execute()
}

/** Why a set is refreshed: a read found its token due (with the service's margin), or it has been idle. */
export type RefreshReason = { kind: 'read'; marginMs: number } | { kind: 'keep_alive' }

/**
 * Locks the row for the rest of the transaction, so refreshes of one token set serialise; `due` says
 * whether it is due at `at` for `reason` (vault_refresh_due or vault_keep_alive_due, with its connector's
 * refresh policy). `noWait`: a row another transaction holds is lockNotAvailable at once.
 */
export async function findTokenSetForUpdate(
  trx: TenantTransaction,
  key: TokenSetKey,
  { at, reason, noWait = false }: { at: Date; reason: RefreshReason; noWait?: boolean },
): Promise<(TokenSetForUpdate & { due: boolean }) | undefined> {
  const policy = sql.ref('crs.refresh_policy')
  const due =
    reason.kind === 'read'
      ? refreshDue(sql.ref('ts.expires_at'), sql.ref('ts.issued_at'), at, reason.marginMs, policy)
      : keepAliveDue(sql.ref('ts.issued_at'), sql.ref('ts.next_refresh_at'), policy, at)
  const query = trx
    .selectFrom('token_sets as ts')
    .innerJoin('data_keys as dk', (join) => join.onRef('dk.tenant_id', '=', 'ts.tenant_id').onRef('dk.version', '=', 'ts.key_version'))
    .leftJoin('connector_refresh_settings as crs', (join) =>
      join
        .onRef('crs.tenant_id', '=', 'ts.tenant_id')
        .onRef('crs.connector_type', '=', 'ts.connector_type')
        .onRef('crs.connector_id', '=', 'ts.connector_id'),
    )
    .select([...qualifiedMetadataColumns, ...presenceFlags('ts')])
    .select([
      'ts.access_token_sealed',
      'ts.refresh_token_sealed',
      'ts.refresh_server',
      'ts.write_id',
      'ts.id_token_sealed',
      'dk.root_key_id',
      'dk.wrapped_key',
      due.as('due'),
    ])
    .where((eb) => eb.and(keyFilter(key)))
    .forUpdate('ts')
  const row = await (noWait ? query.noWait() : query).executeTakeFirst()
  if (row === undefined) return undefined
  const { root_key_id, wrapped_key, ...tokenSet } = row
  return { ...tokenSet, dataKey: dataKeyOf(row) }
}

/** A refresh stored new tokens: everything else about the set stays, and its refresh failures are over. */
export async function updateRefreshedTokenSet(
  trx: TenantTransaction,
  tenantId: string,
  id: string,
  write: RefreshedTokenSetWrite,
): Promise<void> {
  await trx
    .updateTable('token_sets')
    .set({
      ...write,
      refresh_failures: 0,
      refresh_failing_since: null,
      last_refresh_failure_at: null,
      last_refresh_error: null,
      next_refresh_at: null,
      // Only a refresh writes it: the event trigger reads it to tell connection.refreshed from a push.
      last_refreshed_at: sql<Date>`now()`,
      updated_at: sql<Date>`now()`,
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute()
}

/** A refresh attempt failed (not invalid_grant): one more in a row, and no attempt before `nextAt`. */
export async function recordRefreshFailure(
  trx: TenantTransaction,
  tenantId: string,
  id: string,
  failure: { errorCode: string; at: Date; nextAt: Date },
): Promise<void> {
  await trx
    .updateTable('token_sets')
    .set((eb) => ({
      refresh_failures: eb('refresh_failures', '+', 1),
      refresh_failing_since: sql<Date>`coalesce(refresh_failing_since, ${failure.at})`,
      last_refresh_failure_at: failure.at,
      last_refresh_error: failure.errorCode,
      next_refresh_at: failure.nextAt,
    }))
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute()
}

/** The grant is gone; the access token is re-sealed with it, since its binding names the state. */
export async function markReauthRequired(
  trx: TenantTransaction,
  tenantId: string,
  id: string,
  write: { write_id: string; access_token_sealed: Buffer },
): Promise<void> {
  await trx
    .updateTable('token_sets')
    .set({ state: 'reauth_required', ...write, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute()
}

export async function listTokenSetsOfUser(trx: TenantTransaction, tenantId: string, userId: string): Promise<TokenSetMetadataRow[]> {
  return trx
    .selectFrom('token_sets as ts')
    .select([...qualifiedMetadataColumns, ...presenceFlags('ts')])
    .where('ts.tenant_id', '=', tenantId)
    .where('ts.user_id', '=', userId)
    .orderBy('ts.connector_type')
    .orderBy('ts.connector_id')
    .execute()
}

/** What a delete did: the sets it deleted, and how many refresh tokens the trigger queued for revocation. */
export interface DeletedTokenSets {
  deleted: number
  revocations_scheduled: number
}

async function deleteAndCount(
  trx: TenantTransaction,
  tenantId: string,
  filter: Partial<Record<'user_id' | 'connector_type' | 'connector_id', string>>,
): Promise<DeletedTokenSets> {
  let query = trx.deleteFrom('token_sets').where('tenant_id', '=', tenantId)
  for (const [column, value] of Object.entries(filter)) query = query.where(column as keyof typeof filter, '=', value as never)
  const gone = await query.returning('id').execute()
  if (gone.length === 0) return { deleted: 0, revocations_scheduled: 0 }
  // Whether a token is queued is the trigger's rule (vault_connection_events); this only counts what it did.
  const queued = await trx
    .selectFrom('token_revocations')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('reason', '=', 'deleted')
    .where(
      'token_set_id',
      'in',
      gone.map((row) => row.id),
    )
    .executeTakeFirstOrThrow()
  return { deleted: gone.length, revocations_scheduled: Number(queued.n) }
}

export function deleteTokenSet(trx: TenantTransaction, key: TokenSetKey): Promise<DeletedTokenSets> {
  return deleteAndCount(trx, key.tenantId, { user_id: key.userId, connector_type: key.connectorType, connector_id: key.connectorId })
}

export function deleteTokenSetsOfUser(trx: TenantTransaction, tenantId: string, userId: string): Promise<DeletedTokenSets> {
  return deleteAndCount(trx, tenantId, { user_id: userId })
}

export function deleteTokenSetsOfConnector(
  trx: TenantTransaction,
  tenantId: string,
  connectorType: ConnectorType,
  connectorId: string,
): Promise<DeletedTokenSets> {
  return deleteAndCount(trx, tenantId, { connector_type: connectorType, connector_id: connectorId })
}
