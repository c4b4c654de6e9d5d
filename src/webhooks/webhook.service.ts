import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { DB, WebhookDeliveryState } from '../db/schema.ts'
import { inTenantTransaction } from '../db/tenant-scope.ts'
import { emitEvent } from '../db/vault-functions.ts'
import type { EgressPolicy } from '../egress/egress-policy.ts'
import { VaultError } from '../errors.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { formatSigningSecret, generateSigningSecret, openSigningSecrets, sealSigningSecrets } from './signing-secrets.ts'
import * as repository from './webhook.repository.ts'
import type { CreateWebhookBody, WebhookDelivery, WebhookEndpoint } from './webhook.schemas.ts'

export interface WebhookService {
  create(tenantId: string, body: CreateWebhookBody): Promise<WebhookEndpoint & { secret: string }>
  list(tenantId: string): Promise<WebhookEndpoint[]>
  get(tenantId: string, id: string): Promise<WebhookEndpoint>
  delete(tenantId: string, id: string): Promise<number>
  /** A new current secret; the old one still signs (a second signature) for `overlapSeconds`. */
  rotateSecret(
    tenantId: string,
    id: string,
    overlapSeconds: number,
  ): Promise<WebhookEndpoint & { secret: string; previous_secret_expires_at: string | null }>
  listDeliveries(tenantId: string, id: string, filter: { state?: WebhookDeliveryState; limit: number }): Promise<WebhookDelivery[]>
  /** A webhook.test event for this endpoint alone; delivered like any other. */
  sendTest(tenantId: string, id: string): Promise<string>
}

const iso = (date: Date | null) => (date === null ? null : date.toISOString())

function toEndpoint(row: repository.WebhookEndpointRow): WebhookEndpoint {
  return {
    tenant_id: row.tenant_id,
    id: row.id,
    url: row.url,
    event_types: row.event_types,
    description: row.description,
    key_version: row.key_version,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  }
}

function toDelivery(row: repository.WebhookDeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    state: row.state,
    attempts: row.attempts,
    next_attempt_at: row.state === 'pending' ? iso(row.next_attempt_at ?? row.created_at) : null,
    last_attempt_at: iso(row.last_attempt_at),
    last_status: row.last_status,
    last_error: row.last_error,
    delivered_at: iso(row.delivered_at),
    created_at: row.created_at.toISOString(),
  }
}

const notFound = () => new VaultError('webhook.not_found', 'The tenant has no webhook endpoint with this id')

export interface WebhookServiceDeps {
  db: Kysely<DB>
  keyRing: DataKeyRing
  egress: Pick<EgressPolicy, 'requireAllowed'>
  now?: () => Date
}

/** A tenant's webhook endpoints: each with signing secrets of its own, sealed under the tenant's data key. */
export function createWebhookService({ db, keyRing, egress, now = () => new Date() }: WebhookServiceDeps): WebhookService {
  return {
    async create(tenantId, body) {
      egress.requireAllowed(body.url, 'body.url')
      return inTenantTransaction(db, tenantId, async (trx) => {
        const active = await keyRing.activeKey(trx, tenantId)
        const binding = { tenant_id: tenantId, id: randomUUID(), url: body.url, event_types: body.event_types }
        const current = generateSigningSecret()
        try {
          const row = await repository.insertEndpoint(trx, {
            ...binding,
            description: body.description,
            key_version: active.version,
            secrets_sealed: sealSigningSecrets(active.key, binding, active.version, { current }),
          })
          return { ...toEndpoint(row), secret: formatSigningSecret(current) }
        } finally {
          current.fill(0)
        }
      })
    },

    list: async (tenantId) => (await inTenantTransaction(db, tenantId, (trx) => repository.listEndpoints(trx, tenantId))).map(toEndpoint),

    async get(tenantId, id) {
      const row = await inTenantTransaction(db, tenantId, (trx) => repository.findEndpoint(trx, tenantId, id))
      if (row === undefined) throw notFound()
      return toEndpoint(row)
    },

    delete: (tenantId, id) => inTenantTransaction(db, tenantId, (trx) => repository.deleteEndpoint(trx, tenantId, id)),

    rotateSecret: (tenantId, id, overlapSeconds) =>
      inTenantTransaction(db, tenantId, async (trx) => {
        const row = await repository.lockEndpointWithSecrets(trx, tenantId, id)
        if (row === undefined) throw notFound()
        // Opened first: a row changed behind the vault's back is crypto.integrity, never re-sealed as valid.
        const old = openSigningSecrets(await keyRing.unwrap(row.dataKey), row, row.key_version, row.secrets_sealed)
        const active = await keyRing.activeKey(trx, tenantId)
        const current = generateSigningSecret()
        const expiresAt = new Date(now().getTime() + overlapSeconds * 1000)
        const previous = overlapSeconds > 0 ? { secret: old.current, expiresAt } : undefined
        try {
          const updated = await repository.updateEndpointSecrets(trx, tenantId, id, {
            key_version: active.version,
            secrets_sealed: sealSigningSecrets(active.key, row, active.version, { current, ...(previous && { previous }) }),
          })
          return {
            ...toEndpoint(updated),
            secret: formatSigningSecret(current),
            previous_secret_expires_at: iso(previous?.expiresAt ?? null),
          }
        } finally {
          current.fill(0)
          old.current.fill(0)
          old.previous?.secret.fill(0)
        }
      }),

    listDeliveries: (tenantId, id, filter) =>
      inTenantTransaction(db, tenantId, async (trx) => {
        if ((await repository.findEndpoint(trx, tenantId, id)) === undefined) throw notFound()
        const rows = await repository.listDeliveries(trx, tenantId, id, { state: filter.state, limit: filter.limit })
        return rows.map(toDelivery)
      }),

    sendTest: (tenantId, id) =>
      inTenantTransaction(db, tenantId, async (trx) => {
        const eventId = await emitEvent(trx, {
          tenantId,
          type: 'webhook.test',
          data: { tenant_id: tenantId, endpoint_id: id },
          endpointId: id,
        })
        if (eventId === null) throw notFound()
        return eventId
      }),
  }
}
