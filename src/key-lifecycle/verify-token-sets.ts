import type { KeyObject } from 'node:crypto'
import type { Kysely } from 'kysely'
import { openClientSecret, settingsBindingOf } from '../crypto/connector-secret-sealing.ts'
import { SEALED_FIELDS, type SealedField, secretsOfRow } from '../crypto/token-binding.ts'
import { openToken } from '../crypto/token-sealing.ts'
import type { DB } from '../db/schema.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { findConnectorSecretsToVerify, findTokenSetsToVerify } from './key-lifecycle.repository.ts'

export interface VerifyFailure {
  tenant_id: string
  /** A token set's id, or for a connector's client secret "connector:<type>/<id>". */
  token_set_id: string
  field: SealedField | 'client_secret' | 'data_key'
  /** An error code, never a message that could carry material. */
  code: string
}

export interface VerifyResult {
  checked: number
  connectors_checked: number
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
  const connectorsChecked = await verifyConnectorSecrets(db, keyRing, options.tenantId, failures)
  return { checked, connectors_checked: connectorsChecked, failures }
}

/** Client secrets are one per connector: all are checked, even when token sets are sampled. */
async function verifyConnectorSecrets(
  db: Kysely<DB>,
  keyRing: DataKeyRing,
  tenantId: string | undefined,
  failures: VerifyFailure[],
): Promise<number> {
  const rows = await inOperatorTransaction(db, (trx) => findConnectorSecretsToVerify(trx, tenantId))
  for (const row of rows) {
    const id = `connector:${row.connector_type}/${row.connector_id}`
    try {
      const key = await keyRing.unwrap({
        tenantId: row.tenant_id,
        version: row.key_version,
        rootKeyId: row.root_key_id,
        wrappedKey: row.wrapped_key,
      })
      const location = { tenantId: row.tenant_id, connectorType: row.connector_type, connectorId: row.connector_id }
      // Every connector's settings are sealed (a public client's secret is empty): this checks them all.
      openClientSecret(key, location, settingsBindingOf(row), row.key_version, row.client_secret_sealed).fill(0)
    } catch (error) {
      failures.push({
        tenant_id: row.tenant_id,
        token_set_id: id,
        field: 'client_secret',
        code: (error as { code?: string }).code ?? 'internal',
      })
    }
  }
  return rows.length
}
