import { sql } from 'kysely'
import type { TokenSetColumns } from '../crypto/token-binding.ts'
import type { OperatorTransaction } from '../db/tenant-scope.ts'
import type { WrappedDataKey } from '../keys/data-key.repository.ts'
import {
  countSealedByVersion,
  countSealedUnder,
  deleteSealedOfTenant,
  noSealedRecords,
  SEALED_RECORD_TABLES,
  type SealedRecordTable,
} from './sealed-records.ts'

export interface DataKeyStatusRow {
  tenant_id: string
  version: number
  state: string
  root_key_id: string
  created_at: Date
  retired_at: Date | null
  token_sets: number
  connector_secrets: number
  user_secrets: number
  mfa_factors: number
  webhook_secrets: number
  audit_digests: number
}

export async function dataKeyStatus(trx: OperatorTransaction, tenantId: string | undefined): Promise<DataKeyStatusRow[]> {
  const records = await countSealedByVersion(trx, tenantId)
  const rows = await tokenSetsByVersion(trx, tenantId)
  return rows.map((row) => ({
    ...row,
    ...(records.get(`${row.tenant_id}/${row.version}`) ?? noSealedRecords()),
  }))
}

function tokenSetsByVersion(trx: OperatorTransaction, tenantId: string | undefined) {
  let query = trx
    .selectFrom('data_keys as dk')
    .leftJoin('token_sets as ts', (join) => join.onRef('ts.tenant_id', '=', 'dk.tenant_id').onRef('ts.key_version', '=', 'dk.version'))
    .select(['dk.tenant_id', 'dk.version', 'dk.state', 'dk.root_key_id', 'dk.created_at', 'dk.retired_at'])
    .select(sql<number>`count(ts.id)::int`.as('token_sets'))
    .groupBy(['dk.tenant_id', 'dk.version'])
    .orderBy('dk.tenant_id')
    .orderBy('dk.version')
  if (tenantId !== undefined) query = query.where('dk.tenant_id', '=', tenantId)
  return query.execute()
}

export async function tenantIds(trx: OperatorTransaction): Promise<string[]> {
  const rows = await trx.selectFrom('tenants').select('tenant_id').orderBy('tenant_id').execute()
  return rows.map((row) => row.tenant_id)
}

export async function retireDataKey(trx: OperatorTransaction, tenantId: string, version: number): Promise<void> {
  await trx
    .updateTable('data_keys')
    .set({ state: 'decrypt_only', retired_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('version', '=', version)
    .execute()
}

export async function insertDataKey(trx: OperatorTransaction, key: WrappedDataKey): Promise<void> {
  await trx
    .insertInto('data_keys')
    .values({
      tenant_id: key.tenantId,
      version: key.version,
      state: 'active',
      root_key_id: key.rootKeyId,
      wrapped_key: Buffer.from(key.wrappedKey),
    })
    .execute()
}

export interface TokenSetToReencrypt extends TokenSetColumns {
  tenant_id: string
  id: string
  /** The row's xmin when read: the write swaps only if no one wrote the row since. */
  row_version: string
  user_id: string
  connector_type: string
  connector_id: string
  access_token_sealed: Uint8Array
  refresh_token_sealed: Uint8Array | null
  id_token_sealed: Uint8Array | null
}

/** The columns every sealed field of a token set is bound to (crypto/token-binding.ts). */
const BOUND_COLUMNS = sql`ts.state, ts.token_type, ts.scope, ts.expires_at, ts.issued_at, ts.refresh_token_sealed IS NOT NULL AS has_refresh_token,
  ts.target, ts.issuer, ts.provider_subject, ts.refresh_server, ts.write_id`

/** A tenant's data key of one version (or its active one), wrapped. */
export async function findDataKey(
  trx: OperatorTransaction,
  tenantId: string,
  version: number | 'active',
): Promise<WrappedDataKey | undefined> {
  const query = trx.selectFrom('data_keys').select(['tenant_id', 'version', 'root_key_id', 'wrapped_key']).where('tenant_id', '=', tenantId)
  const row = await (version === 'active' ? query.where('state', '=', 'active') : query.where('version', '=', version)).executeTakeFirst()
  return row && { tenantId: row.tenant_id, version: row.version, rootKeyId: row.root_key_id, wrappedKey: row.wrapped_key }
}

/** Retired data-key versions that still protect token sets: the work `keys reencrypt` has left. */
export async function retiredVersionsInUse(
  trx: OperatorTransaction,
  tenantId: string | undefined,
): Promise<Array<{ tenant_id: string; version: number }>> {
  const result = await sql<{ tenant_id: string; version: number }>`
    SELECT dk.tenant_id, dk.version FROM data_keys dk
    WHERE dk.state = 'decrypt_only' ${tenantId === undefined ? sql`` : sql`AND dk.tenant_id = ${tenantId}`}
      AND EXISTS (SELECT 1 FROM token_sets ts WHERE ts.tenant_id = dk.tenant_id AND ts.key_version = dk.version)
    ORDER BY dk.tenant_id, dk.version`.execute(trx)
  return result.rows
}

/**
 * The next token sets of one tenant still on one retired version, after `afterId` in primary-key order,
 * with the version of each row as read (its xmin). The walk is a range scan of the primary key, so a run
 * reads each of the tenant's rows once. Nothing is locked: the write compares and swaps on the row
 * version, so a row a push or refresh changed meanwhile is left alone (and picked up by a later pass if
 * it is still old).
 */
export async function findTokenSetsToReencrypt(
  trx: OperatorTransaction,
  tenantId: string,
  fromVersion: number,
  afterId: string | null,
  limit: number,
): Promise<TokenSetToReencrypt[]> {
  const result = await sql<TokenSetToReencrypt>`
    SELECT ts.tenant_id, ts.id, ts.user_id, ts.connector_type, ts.connector_id, ts.xmin::text AS row_version,
           ts.access_token_sealed, ts.refresh_token_sealed, ts.id_token_sealed, ${BOUND_COLUMNS}
    FROM token_sets ts
    WHERE ts.tenant_id = ${tenantId} AND ts.key_version = ${fromVersion}
      ${afterId === null ? sql`` : sql`AND ts.id > ${afterId}::uuid`}
    ORDER BY ts.id
    LIMIT ${limit}`.execute(trx)
  return result.rows
}

export async function countTokenSetsToReencrypt(trx: OperatorTransaction, tenantId: string | undefined): Promise<number> {
  const result = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM token_sets ts
    JOIN data_keys act ON act.tenant_id = ts.tenant_id AND act.state = 'active'
    WHERE ts.key_version <> act.version ${tenantId === undefined ? sql`` : sql`AND ts.tenant_id = ${tenantId}`}`.execute(trx)
  return result.rows[0]!.n
}

export interface ReencryptedTokenSet {
  tenant_id: string
  id: string
  rowVersion: string
  from: number
  to: number
  access: Buffer
  refresh: Buffer | null
  idToken: Buffer | null
}

/**
 * Writes a whole batch in one statement. Compare-and-swap on the row version and the key version: a row
 * someone else wrote meanwhile is left alone, never overwritten with re-sealed old tokens. Returns how
 * many rows moved.
 */
export async function updateReencryptedTokenSets(trx: OperatorTransaction, rows: readonly ReencryptedTokenSet[]): Promise<number> {
  if (rows.length === 0) return 0
  const column = <T>(pick: (row: ReencryptedTokenSet) => T) => rows.map(pick)
  const result = await sql`
    UPDATE token_sets AS ts
    SET key_version = v.to_version, access_token_sealed = v.access, refresh_token_sealed = v.refresh, id_token_sealed = v.id_token
    FROM unnest(
      ${column((r) => r.tenant_id)}::text[], ${column((r) => r.id)}::uuid[], ${column((r) => r.rowVersion)}::text[],
      ${column((r) => r.from)}::int[], ${column((r) => r.to)}::int[],
      ${column((r) => r.access)}::bytea[], ${column((r) => r.refresh)}::bytea[], ${column((r) => r.idToken)}::bytea[]
    ) AS v(tenant_id, id, row_version, from_version, to_version, access, refresh, id_token)
    WHERE ts.tenant_id = v.tenant_id AND ts.id = v.id AND ts.xmin = v.row_version::xid AND ts.key_version = v.from_version`.execute(trx)
  return Number(result.numAffectedRows ?? 0)
}

/** The data key version's state, holding it for the transaction; undefined when there is none. */
export async function lockDataKeyState(trx: OperatorTransaction, tenantId: string, version: number): Promise<string | undefined> {
  const key = await trx
    .selectFrom('data_keys')
    .select('state')
    .where('tenant_id', '=', tenantId)
    .where('version', '=', version)
    .forUpdate()
    .executeTakeFirst()
  return key?.state
}

/** How many token sets and other sealed records (sealed-records.ts) a data key version protects. */
export async function rowsSealedUnder(
  trx: OperatorTransaction,
  tenantId: string,
  version: number,
): Promise<{ tokenSets: number; queuedRevocations: number } & Record<SealedRecordTable['name'], number>> {
  const tokenSets = await trx
    .selectFrom('token_sets')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('tenant_id', '=', tenantId)
    .where('key_version', '=', version)
    .executeTakeFirstOrThrow()
  // A queued revocation holds a refresh token and a client secret until it is revoked or given up.
  const revocations = await trx
    .selectFrom('token_revocations')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('tenant_id', '=', tenantId)
    .where((eb) => eb.or([eb('token_key_version', '=', version), eb('settings_key_version', '=', version)]))
    .executeTakeFirstOrThrow()
  return { tokenSets: tokenSets.n, queuedRevocations: revocations.n, ...(await countSealedUnder(trx, tenantId, version)) }
}

/** The foreign keys (ON DELETE RESTRICT) refuse while a row still needs it, even against a concurrent push. */
export async function deleteDataKey(trx: OperatorTransaction, tenantId: string, version: number): Promise<void> {
  await trx.deleteFrom('data_keys').where('tenant_id', '=', tenantId).where('version', '=', version).execute()
}

export interface ShredResult {
  tokenSets: number
  connectorSettings: number
  userSecrets: number
  mfaFactors: number
  webhookEndpoints: number
  auditDigests: number
  dataKeys: number
  tenant: boolean
}

/** Everything of a tenant but its audit trail. */
export async function deleteTenant(trx: OperatorTransaction, tenantId: string): Promise<ShredResult> {
  const tokenSets = await trx.deleteFrom('token_sets').where('tenant_id', '=', tenantId).executeTakeFirst()
  const records = {} as Record<SealedRecordTable['name'], number>
  // An MFA factor's used codes go with it (ON DELETE CASCADE); its user's attempt counts hold no secret.
  for (const table of SEALED_RECORD_TABLES) records[table.name] = await deleteSealedOfTenant(trx, table, tenantId)
  await trx.deleteFrom('mfa_attempts').where('tenant_id', '=', tenantId).execute()
  // The endpoints took their deliveries with them; the events (the connection.deleted of the token sets
  // above among them) could not be signed any more.
  await trx.deleteFrom('events').where('tenant_id', '=', tenantId).execute()
  // Refresh tokens queued for revocation (the token sets above queued theirs): shredded unrevoked.
  await trx.deleteFrom('token_revocations').where('tenant_id', '=', tenantId).execute()
  const dataKeys = await trx.deleteFrom('data_keys').where('tenant_id', '=', tenantId).executeTakeFirst()
  const tenant = await trx.deleteFrom('tenants').where('tenant_id', '=', tenantId).executeTakeFirst()
  return {
    tokenSets: Number(tokenSets.numDeletedRows),
    connectorSettings: records.connector_secrets,
    userSecrets: records.user_secrets,
    mfaFactors: records.mfa_factors,
    webhookEndpoints: records.webhook_secrets,
    auditDigests: records.audit_digests,
    dataKeys: Number(dataKeys.numDeletedRows),
    tenant: Number(tenant.numDeletedRows) === 1,
  }
}

export async function countDataKeysNotUnder(trx: OperatorTransaction, rootKeyId: string): Promise<number> {
  const count = await trx
    .selectFrom('data_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('root_key_id', '<>', rootKeyId)
    .executeTakeFirstOrThrow()
  return Number(count.n)
}

/** Up to `limit` data keys wrapped under another root key, held for the transaction (others' are skipped). */
export async function lockDataKeysNotUnder(trx: OperatorTransaction, rootKeyId: string, limit: number) {
  return trx
    .selectFrom('data_keys')
    .select(['tenant_id', 'version', 'root_key_id', 'wrapped_key'])
    .where('root_key_id', '<>', rootKeyId)
    .orderBy('tenant_id')
    .orderBy('version')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute()
}

/** Compare-and-swap on the root key it was wrapped under. */
export async function rewrapDataKey(
  trx: OperatorTransaction,
  key: { tenant_id: string; version: number; root_key_id: string },
  rootKeyId: string,
  wrappedKey: Uint8Array,
): Promise<void> {
  await trx
    .updateTable('data_keys')
    .set({ root_key_id: rootKeyId, wrapped_key: wrappedKey })
    .where('tenant_id', '=', key.tenant_id)
    .where('version', '=', key.version)
    .where('root_key_id', '=', key.root_key_id)
    .execute()
}

export interface TokenSetToVerify extends TokenSetColumns {
  tenant_id: string
  id: string
  user_id: string
  connector_type: string
  connector_id: string
  key_version: number
  access_token_sealed: Uint8Array
  refresh_token_sealed: Uint8Array | null
  id_token_sealed: Uint8Array | null
  root_key_id: string
  wrapped_key: Uint8Array
}

/** A page of token sets to verify, in id order after `after`, or a random sample. */
export async function findTokenSetsToVerify(
  trx: OperatorTransaction,
  options: {
    tenantId: string | undefined
    sample: number | undefined
    after: { tenant_id: string; id: string } | undefined
    limit: number
  },
): Promise<TokenSetToVerify[]> {
  const { tenantId, sample, after, limit } = options
  const tenantFilter = tenantId === undefined ? sql`` : sql`AND ts.tenant_id = ${tenantId}`
  const page =
    sample !== undefined
      ? sql`ORDER BY random() LIMIT ${sample}`
      : sql`${after === undefined ? sql`` : sql`AND (ts.tenant_id, ts.id) > (${after.tenant_id}, ${after.id}::uuid)`} ORDER BY ts.tenant_id, ts.id LIMIT ${limit}`
  const result = await sql<TokenSetToVerify>`
    SELECT ts.tenant_id, ts.id, ts.user_id, ts.connector_type, ts.connector_id, ts.key_version,
           ts.access_token_sealed, ts.refresh_token_sealed, ts.id_token_sealed, dk.root_key_id, dk.wrapped_key, ${BOUND_COLUMNS}
    FROM token_sets ts JOIN data_keys dk ON dk.tenant_id = ts.tenant_id AND dk.version = ts.key_version
    WHERE true ${tenantFilter} ${page}`.execute(trx)
  return result.rows
}

/** Tells every replica listening on `channel` that a tenant's keys changed (delivered when the transaction commits). */
export async function notifyKeyChange(trx: OperatorTransaction, channel: string, tenantId: string): Promise<void> {
  await sql`SELECT pg_notify(${channel}, ${tenantId})`.execute(trx)
}
