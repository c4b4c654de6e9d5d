import { createHash, type KeyObject } from 'node:crypto'
import { type BindingValue, encodeBinding } from './associated-data.ts'
import { open, seal } from './seal.ts'

/**
 * A kind of secret the vault holds in a row of its own (beyond token sets, which bind more and have
 * token-binding.ts): a label of its own, and the row's columns that say where the secret belongs and what
 * it is for, and the data-key version it is sealed under. A new kind is a new label here, never a new
 * mechanism: sealing, re-encryption, verification and shredding treat every kind alike.
 */
export interface RecordKind<Row> {
  readonly label: string
  bound(row: Row, keyVersion: number): readonly BindingValue[]
}

const millis = (date: Date | null) => (date === null ? null : date.getTime())

/** A user's named secret (API key, password, anything else): moved to another user or name, it does not open. */
export const USER_SECRET: RecordKind<{ tenant_id: string; user_id: string; name: string; kind: string }> = {
  label: 'secret-vault/user-secret/v1',
  bound: (row, keyVersion) => [row.tenant_id, row.user_id, row.name, row.kind, keyVersion],
}

/**
 * An MFA factor's secret (a TOTP seed, a set of backup codes). Its state and expiry are bound: a pending
 * factor made bound, or its expiry pushed out, behind the vault's back does not open.
 */
export const MFA_FACTOR: RecordKind<{
  tenant_id: string
  user_id: string
  id: string
  type: string
  state: string
  expires_at: Date | null
}> = {
  label: 'secret-vault/mfa-factor/v1',
  bound: (row, keyVersion) => [row.tenant_id, row.user_id, row.id, row.type, row.state, millis(row.expires_at), keyVersion],
}

/** An endpoint's columns that say where its events go and which: all bound into its sealed signing secrets. */
export interface EndpointBinding {
  tenant_id: string
  id: string
  url: string
  event_types: readonly string[]
}

/**
 * A webhook endpoint's signing secrets open only for its tenant, id, URL and event types: someone who can
 * write the row cannot point the vault's signed events at another address or widen what it is sent
 * without the secrets failing to open, before anything is sent.
 */
export const WEBHOOK_SIGNING_SECRETS: RecordKind<EndpointBinding> = {
  label: 'secret-vault/webhook-signing-secrets/v1',
  bound: (row, keyVersion) => [row.tenant_id, row.id, row.url, JSON.stringify([...row.event_types].sort()), keyVersion],
}

/** What an audit digest seals: every column of its row (the row holds no secret; the seal is its MAC). */
export interface AuditDigestBinding {
  tenant_id: string
  number: string | number
  kind: string
  sealed_at: Date
  after_id: string | number
  through_id: string | number
  entries: Uint8Array
  cut: string | null
}

/**
 * An audit digest: a run of a tenant's audit events by id, time and content hash (or, for a retention
 * cut, the months dropped), sealed over an empty secret so that the seal is a MAC under the tenant's data
 * key. A digest written, edited, renumbered or moved to another range by someone who can write the table
 * does not open.
 */
export const AUDIT_DIGEST: RecordKind<AuditDigestBinding> = {
  label: 'secret-vault/audit-digest/v1',
  bound: (row, keyVersion) => [
    row.tenant_id,
    Number(row.number),
    row.kind,
    row.sealed_at.getTime(),
    Number(row.after_id),
    Number(row.through_id),
    createHash('sha256').update(row.entries).digest('hex'),
    row.cut,
    keyVersion,
  ],
}

function associatedData<Row>(kind: RecordKind<Row>, row: Row, keyVersion: number): Buffer {
  return encodeBinding(kind.label, kind.bound(row, keyVersion))
}

export function sealRecord<Row>(kind: RecordKind<Row>, key: KeyObject, row: Row, keyVersion: number, secret: Buffer): Buffer {
  return seal(key, secret, associatedData(kind, row, keyVersion))
}

/** Every failure is the one IntegrityError (crypto.integrity). */
export function openRecord<Row>(kind: RecordKind<Row>, key: KeyObject, row: Row, keyVersion: number, sealed: Uint8Array): Buffer {
  return open(key, sealed, associatedData(kind, row, keyVersion))
}
