import { type Kysely, type Selectable, sql } from 'kysely'
import type { AuditContext } from '../audit/audit.repository.ts'
import type { AuditAction } from '../audit/audit.schemas.ts'
import type { ConnectorType, DataKeysTable, DB, TokenSetState, TokenSetsTable } from '../db/schema.ts'
import type { TenantTransaction } from '../db/tenant-scope.ts'
import type { WrappedDataKey } from '../keys/data-key.repository.ts'

export interface TokenSetKey {
  tenantId: string
  userId: string
  connectorType: ConnectorType
  connectorId: string
}

/** Everything about a token set that may be shown: no sealed column. */
export interface TokenSetMetadataRow {
  id: string
  tenant_id: string
  user_id: string
  connector_type: ConnectorType
  connector_id: string
  target: string | null
  issuer: string | null
  provider_subject: string | null
  token_type: string
  scope: string
  expires_at: Date | null
  has_refresh_token: boolean
  has_id_token: boolean
  state: TokenSetState
  key_version: number
  issued_at: Date
  created_at: Date
  updated_at: Date
}

export interface SealedTokens {
  access_token_sealed: Uint8Array
  refresh_token_sealed: Uint8Array | null
  id_token_sealed: Uint8Array | null
}

export interface TokenSetForRead {
  id: string
  token_type: string
  scope: string
  expires_at: Date | null
  issued_at: Date
  has_refresh_token: boolean
  state: TokenSetState
  target: string | null
  issuer: string | null
  provider_subject: string | null
  write_id: string
  access_token_sealed: Uint8Array
  dataKey: WrappedDataKey
  /** The read's success event was committed with it. */
  recorded: boolean
}

export type TokenSetForUpdate = TokenSetMetadataRow &
  SealedTokens & { refresh_server: string | null; write_id: string; dataKey: WrappedDataKey }

export interface TokenSetWrite {
  target: string | null
  issuer: string | null
  provider_subject: string | null
  token_type: string
  scope: string
  expires_at: Date | null
  issued_at: Date
  key_version: number
  /** Fresh for this write, bound into the access token. */
  write_id: string
  access_token_sealed: Buffer
  refresh_token_sealed: Uint8Array | null
  /** The authorization server the refresh token is bound to. */
  refresh_server: string | null
  id_token_sealed: Uint8Array | null
}

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

/** The four columns that name a connection, as parallel arrays: how the batched functions take them. */
function keyColumns(keys: readonly TokenSetKey[]) {
  return sql`${keys.map((k) => k.tenantId)}::text[], ${keys.map((k) => k.userId)}::text[],
    ${keys.map((k) => k.connectorType)}::text[], ${keys.map((k) => k.connectorId)}::text[]`
}

/** Puts each returned row back at its element's position (`n`, 1-based); elements without a row stay undefined. */
function byPosition<R extends { n: number }, T>(count: number, rows: readonly R[], map: (row: R) => T): (T | undefined)[] {
  const out = new Array<T | undefined>(count).fill(undefined)
  for (const row of rows) out[row.n - 1] = map(row)
  return out
}

/** One read as the batched read statement takes it: which set, and when the caller would serve it as stored. */
export interface TokenSetRead {
  key: TokenSetKey
  /** Scopes the caller requires; a set without all of them is not recorded. */
  requiredScopes: readonly string[]
  /** A set expiring before this instant is not recorded: the caller would refresh or refuse it. */
  serveUntil: Date
  audit: AuditContext
}

/**
 * Many reads in one statement: for each connection, the sealed access token with the wrapped data key that
 * opens it, and whether the statement committed the read's audit event (success) with it — only for a set
 * the caller will serve as stored (see the migration). The function takes the service role and each tenant
 * itself, so no explicit transaction is needed around it.
 */
export async function readTokenSets(
  db: Kysely<DB>,
  reads: readonly TokenSetRead[],
  auditAction: AuditAction,
): Promise<(TokenSetForRead | undefined)[]> {
  type Row = Pick<
    Selectable<TokenSetsTable>,
    'id' | 'token_type' | 'scope' | 'expires_at' | 'issued_at' | 'state' | 'key_version' | 'access_token_sealed'
  > &
    Pick<Selectable<TokenSetsTable>, 'target' | 'issuer' | 'provider_subject' | 'write_id'> &
    Pick<Selectable<DataKeysTable>, 'root_key_id' | 'wrapped_key'> & { n: number; has_refresh_token: boolean; recorded: boolean }
  const column = <T>(pick: (read: TokenSetRead) => T) => reads.map(pick)
  const result = await sql<Row>`SELECT * FROM vault_read_and_record_token_sets(
    ${keyColumns(column((r) => r.key))},
    ${column((r) => (r.requiredScopes.length === 0 ? null : r.requiredScopes.join(' ')))}::text[], ${column((r) => r.serveUntil)}::timestamptz[],
    ${auditAction}, ${column((r) => r.audit.clientId)}::text[], ${column((r) => r.audit.requestId)}::text[],
    ${column((r) => r.audit.callerRequestId ?? null)}::text[])`.execute(db)
  return byPosition(reads.length, result.rows, (row) => ({
    id: row.id,
    token_type: row.token_type,
    scope: row.scope,
    expires_at: row.expires_at,
    issued_at: row.issued_at,
    has_refresh_token: row.has_refresh_token,
    state: row.state,
    target: row.target,
    issuer: row.issuer,
    provider_subject: row.provider_subject,
    write_id: row.write_id,
    access_token_sealed: row.access_token_sealed,
    dataKey: {
      tenantId: reads[row.n - 1]!.key.tenantId,
      version: row.key_version,
      rootKeyId: row.root_key_id,
      wrappedKey: row.wrapped_key,
    },
    recorded: row.recorded,
  }))
}

export interface PreparedPush {
  activeKey: WrappedDataKey
  existing: { id: string; keyVersion: number; issuedAt: Date; hasRefreshToken: boolean } | undefined
  /** The authorization server the connector's refresh settings name: a new refresh token is bound to it. */
  refreshServer: string | null
}

/** Pushes' first statement: each tenant's active data key and what is stored. Undefined: no key yet. */
export async function preparePushes(db: Kysely<DB>, keys: readonly TokenSetKey[]): Promise<(PreparedPush | undefined)[]> {
  const result = await sql<{
    n: number
    active_version: number
    root_key_id: string
    wrapped_key: Uint8Array
    existing_id: string | null
    existing_key_version: number | null
    existing_issued_at: Date | null
    existing_has_refresh_token: boolean | null
    refresh_server: string | null
  }>`SELECT * FROM vault_prepare_pushes(${keyColumns(keys)})`.execute(db)
  return byPosition(keys.length, result.rows, (row) => ({
    activeKey: {
      tenantId: keys[row.n - 1]!.tenantId,
      version: row.active_version,
      rootKeyId: row.root_key_id,
      wrappedKey: row.wrapped_key,
    },
    existing:
      row.existing_id === null
        ? undefined
        : {
            id: row.existing_id,
            keyVersion: row.existing_key_version!,
            issuedAt: row.existing_issued_at!,
            hasRefreshToken: row.existing_has_refresh_token!,
          },
    refreshServer: row.refresh_server,
  }))
}

/** One push's compare-and-swap: the row to write and what preparePushes saw. */
export interface PushedWrite {
  key: TokenSetKey
  id: string
  isNew: boolean
  /** What the access token was sealed saying: the row must end up with a refresh token exactly then. */
  hasRefreshToken: boolean
  /** The refresh token is bound to what the settings named (remembered, maybe stale): the write checks it. */
  refreshServerFromSettings: boolean
  write: TokenSetWrite
  /** Recorded with the push, in the transaction that writes it. */
  audit: AuditContext
}

export type PushWriteOutcome = { outcome: 'created' | 'updated' | 'ignored_stale'; row: TokenSetMetadataRow }

/**
 * Pushes' second statement: compare-and-swap on what preparePushes saw, for many pushes in one transaction,
 * each with its audit event (see the migration). Undefined for a push whose row changed in between or is
 * locked: it wrote and recorded nothing and must take the transactional path.
 */
export async function writePushedTokenSets(
  db: Kysely<DB>,
  pushes: readonly PushedWrite[],
  auditAction: AuditAction,
): Promise<(PushWriteOutcome | undefined)[]> {
  const column = <T>(pick: (push: PushedWrite) => T) => pushes.map(pick)
  const result = await sql<TokenSetMetadataRow & { n: number; outcome: PushWriteOutcome['outcome'] }>`
    SELECT * FROM vault_write_pushed_token_sets(
      ${keyColumns(pushes.map((p) => p.key))}, ${column((p) => p.id)}::uuid[], ${column((p) => p.isNew)}::boolean[],
      ${column((p) => p.write.target)}::text[], ${column((p) => p.write.issuer)}::text[], ${column((p) => p.write.provider_subject)}::text[],
      ${column((p) => p.write.token_type)}::text[], ${column((p) => p.write.scope)}::text[],
      ${column((p) => p.write.expires_at)}::timestamptz[], ${column((p) => p.write.issued_at)}::timestamptz[],
      ${column((p) => p.write.key_version)}::int[], ${column((p) => p.write.access_token_sealed)}::bytea[],
      ${column((p) => p.write.refresh_token_sealed)}::bytea[], ${column((p) => p.write.id_token_sealed)}::bytea[],
      ${auditAction}, ${column((p) => p.audit.clientId)}::text[], ${column((p) => p.audit.requestId)}::text[],
      ${column((p) => p.audit.callerRequestId ?? null)}::text[], ${column((p) => p.hasRefreshToken)}::boolean[],
      ${column((p) => p.write.refresh_server)}::text[], ${column((p) => p.refreshServerFromSettings)}::boolean[],
      ${column((p) => p.write.write_id)}::uuid[])`.execute(db)
  return byPosition(pushes.length, result.rows, ({ n, outcome, ...row }) => ({ outcome, row }))
}

/** Locks the row for the rest of the transaction, so concurrent pushes to one token set serialise. */
export async function findTokenSetForUpdate(trx: TenantTransaction, key: TokenSetKey): Promise<TokenSetForUpdate | undefined> {
  const row = await trx
    .selectFrom('token_sets as ts')
    .innerJoin('data_keys as dk', (join) => join.onRef('dk.tenant_id', '=', 'ts.tenant_id').onRef('dk.version', '=', 'ts.key_version'))
    .select([...qualifiedMetadataColumns, ...presenceFlags('ts')])
    .select([
      'ts.access_token_sealed',
      'ts.refresh_token_sealed',
      'ts.refresh_server',
      'ts.write_id',
      'ts.id_token_sealed',
      'dk.root_key_id',
      'dk.wrapped_key',
    ])
    .where((eb) => eb.and(keyFilter(key)))
    .forUpdate('ts')
    .executeTakeFirst()
  if (row === undefined) return undefined
  const { root_key_id, wrapped_key, ...tokenSet } = row
  return { ...tokenSet, dataKey: dataKeyOf(row) }
}

/** Returns undefined when a concurrent transaction inserted the same (user, connector) first. */
export async function insertTokenSet(
  trx: TenantTransaction,
  key: TokenSetKey,
  id: string,
  write: TokenSetWrite,
): Promise<TokenSetMetadataRow | undefined> {
  return trx
    .insertInto('token_sets')
    .values({
      tenant_id: key.tenantId,
      id,
      user_id: key.userId,
      connector_type: key.connectorType,
      connector_id: key.connectorId,
      state: 'active',
      ...write,
    })
    .onConflict((c) => c.columns(['tenant_id', 'user_id', 'connector_type', 'connector_id']).doNothing())
    .returning([...metadataColumnNames, ...presenceFlags('token_sets')])
    .executeTakeFirst()
}

/** A refresh changed the tokens or found the grant gone: everything else about the set stays. */
export async function updateRefreshedTokenSet(
  trx: TenantTransaction,
  tenantId: string,
  id: string,
  write: Pick<
    TokenSetWrite,
    | 'token_type'
    | 'scope'
    | 'expires_at'
    | 'issued_at'
    | 'key_version'
    | 'write_id'
    | 'access_token_sealed'
    | 'refresh_token_sealed'
    | 'refresh_server'
    | 'id_token_sealed'
  >,
): Promise<void> {
  await trx
    .updateTable('token_sets')
    .set({ ...write, updated_at: sql<Date>`now()` })
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

export async function updateTokenSet(
  trx: TenantTransaction,
  tenantId: string,
  id: string,
  write: TokenSetWrite,
): Promise<TokenSetMetadataRow> {
  return trx
    .updateTable('token_sets as ts')
    .set({ ...write, state: 'active', updated_at: sql<Date>`now()` })
    .where('ts.tenant_id', '=', tenantId)
    .where('ts.id', '=', id)
    .returning([...qualifiedMetadataColumns, ...presenceFlags('ts')])
    .executeTakeFirstOrThrow()
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

export async function deleteTokenSet(trx: TenantTransaction, key: TokenSetKey): Promise<number> {
  const result = await trx
    .deleteFrom('token_sets as ts')
    .where((eb) => eb.and(keyFilter(key)))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

export async function deleteTokenSetsOfUser(trx: TenantTransaction, tenantId: string, userId: string): Promise<number> {
  const result = await trx.deleteFrom('token_sets').where('tenant_id', '=', tenantId).where('user_id', '=', userId).executeTakeFirst()
  return Number(result.numDeletedRows)
}

export async function deleteTokenSetsOfConnector(
  trx: TenantTransaction,
  tenantId: string,
  connectorType: ConnectorType,
  connectorId: string,
): Promise<number> {
  const result = await trx
    .deleteFrom('token_sets')
    .where('tenant_id', '=', tenantId)
    .where('connector_type', '=', connectorType)
    .where('connector_id', '=', connectorId)
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** The authorization server the connector's refresh settings name now (a new refresh token is bound to it). */
export async function findRefreshServer(trx: TenantTransaction, key: TokenSetKey): Promise<string | null> {
  const row = await trx
    .selectFrom('connector_refresh_settings')
    .select(['token_endpoint', 'issuer'])
    .where('tenant_id', '=', key.tenantId)
    .where('connector_type', '=', key.connectorType)
    .where('connector_id', '=', key.connectorId)
    .executeTakeFirst()
  return row === undefined ? null : (row.token_endpoint ?? row.issuer)
}
