import type { KeyObject } from 'node:crypto'
import type { Kysely } from 'kysely'
import { openRecord } from '../crypto/record-binding.ts'
import { SEALED_FIELDS, type SealedField, secretsOfRow } from '../crypto/token-binding.ts'
import { openToken } from '../crypto/token-sealing.ts'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { findTokenSetsToVerify } from './key-lifecycle.repository.ts'
import { findSealedToVerify, SEALED_RECORD_TABLES, type SealedRecordTable, type SealedRow } from './sealed-records.ts'

export interface VerifyFailure {
  tenant_id: string
  /** A token set's id, or for another record its ids: "connector:<type>/<id>", "user_secret:<user>/<name>", "mfa_factor:<id>". */
  token_set_id: string
  field: SealedField | SealedRecordTable['field'] | 'data_key'
  /** An error code, never a message that could carry material. */
  code: string
}

export interface VerifyResult {
  checked: number
  connectors_checked: number
  user_secrets_checked: number
  mfa_factors_checked: number
  webhook_endpoints_checked: number
  audit_digests_checked: number
  failures: VerifyFailure[]
}

const PAGE = 500

/**
 * Opens every sealed secret (or a random sample) and reports the ones that fail, by id. Plaintexts are
 * dropped as soon as they open; nothing secret is printed.
 */
export async function verifyTokenSets(
  db: Kysely<DB>,
  keyRing: DataKeyRing,
  options: { tenantId: string | undefined; sample: number | undefined },
): Promise<VerifyResult> {
  const failures: VerifyFailure[] = []
  let checked = 0
  let after: { tenant_id: string; id: string } | undefined
  for (;;) {
    const rows = await inOperatorTransaction(db, (trx) =>
      findTokenSetsToVerify(trx, { tenantId: options.tenantId, sample: options.sample, after, limit: PAGE }),
    )
    for (const row of rows) {
      checked++
      let key: KeyObject
      try {
        key = await keyRing.unwrap({
          tenantId: row.tenant_id,
          version: row.key_version,
          rootKeyId: row.root_key_id,
          wrappedKey: row.wrapped_key,
        })
      } catch (error) {
        failures.push({
          tenant_id: row.tenant_id,
          token_set_id: row.id,
          field: 'data_key',
          code: (error as { code?: string }).code ?? 'internal',
        })
        continue
      }
      const location = {
        tenantId: row.tenant_id,
        userId: row.user_id,
        connectorType: row.connector_type,
        connectorId: row.connector_id,
        tokenSetId: row.id,
      }
      const sealed = { access_token: row.access_token_sealed, refresh_token: row.refresh_token_sealed, id_token: row.id_token_sealed }
      // Opening under the row's clear columns also checks them: a changed state, expiry, scope, issued_at or
      // bound authorization server is reported on the field it is bound to.
      const secrets = secretsOfRow(row)
      for (const field of SEALED_FIELDS) {
        const value = sealed[field]
        if (value === null) continue
        try {
          openToken(key, location, secrets[field], row.key_version, value).fill(0)
        } catch (error) {
          failures.push({ tenant_id: row.tenant_id, token_set_id: row.id, field, code: (error as { code?: string }).code ?? 'internal' })
        }
      }
    }
    if (options.sample !== undefined || rows.length < PAGE) break
    const last = rows.at(-1)!
    after = { tenant_id: last.tenant_id, id: last.id }
  }
  const records: Record<string, number> = {}
  for (const table of SEALED_RECORD_TABLES) records[table.name] = await verifySealedRecords(db, keyRing, table, options.tenantId, failures)
  return {
    checked,
    connectors_checked: records.connector_secrets!,
    user_secrets_checked: records.user_secrets!,
    mfa_factors_checked: records.mfa_factors!,
    webhook_endpoints_checked: records.webhook_secrets!,
    audit_digests_checked: records.audit_digests!,
    failures,
  }
}

/** Every row of one kind is opened, page by page, even when token sets are sampled: they are few next to token sets. */
async function verifySealedRecords(
  db: Kysely<DB>,
  keyRing: DataKeyRing,
  table: SealedRecordTable,
  tenantId: string | undefined,
  failures: VerifyFailure[],
): Promise<number> {
  let checked = 0
  let after: SealedRow | undefined
  for (;;) {
    const rows = await inOperatorTransaction(db, (trx) => findSealedToVerify(trx, table, { tenantId, after, limit: PAGE }))
    for (const row of rows) {
      try {
        const key = await keyRing.unwrap({
          tenantId: row.tenant_id,
          version: row.key_version,
          rootKeyId: row.root_key_id,
          wrappedKey: row.wrapped_key,
        })
        // Opening under the row's clear columns checks them too (a connector's settings, a factor's state).
        openRecord(table.kind, key, row, row.key_version, row[table.sealedColumn] as Uint8Array).fill(0)
      } catch (error) {
        failures.push({
          tenant_id: row.tenant_id,
          token_set_id: table.id(row),
          field: table.field,
          code: (error as { code?: string }).code ?? 'internal',
        })
      }
    }
    checked += rows.length
    if (rows.length < PAGE) return checked
    after = rows.at(-1)
  }
}
