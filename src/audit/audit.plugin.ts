import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { AuditOutcome } from '../db/schema.ts'
import { connectorIdSchema, connectorTypeSchema, tenantIdSchema, userIdSchema } from '../token-sets/token-set.schemas.ts'
import type { AuditAction } from './audit.schemas.ts'
import type { AuditService } from './audit.service.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Routes with an audit action leave one audit event per request, whatever its outcome. */
    audit?: AuditAction
  }
  interface FastifyRequest {
    /** Set by a handler when the request used a data key. */
    auditKeyVersion: number | null
    /** Set by a handler whose event was committed in the same transaction as the change it records. */
    auditRecorded: boolean
  }
}

export interface AuditPluginOptions {
  audit: AuditService
  onAuditFailure?: () => void
}

/** Path parameters are recorded only when well-formed: a malformed id is not worth an audit row. */
function param<T>(request: FastifyRequest, name: string, schema: { safeParse(v: unknown): { success: boolean; data?: T } }) {
  const value = (request.params as Record<string, unknown> | undefined)?.[name]
  const parsed = schema.safeParse(value)
  return parsed.success ? (parsed.data as T) : null
}

function outcomeOf(statusCode: number): AuditOutcome {
  if (statusCode < 400) return 'success'
  return statusCode === 401 || statusCode === 403 ? 'denied' : 'failed'
}

/**
 * Records the audit event before the response leaves: a successful request whose event cannot be written
 * is turned into a 503, so no token leaves the vault unaudited. A handler that committed its event with
 * its change (a push) sets auditRecorded, and nothing more is written for it.
 */
export const auditPlugin = fp(
  async (app: FastifyInstance, { audit, onAuditFailure }: AuditPluginOptions) => {
    app.decorateRequest('auditKeyVersion', null)
    app.decorateRequest('auditRecorded', false)
    app.addHook('onSend', async (request, reply, payload) => {
      const action = request.routeOptions.config.audit
      if (action === undefined || request.auditRecorded) return payload
      // A request with no valid caller is not written into a tenant's trail: anyone could otherwise fill the
      // trail of any tenant, with ids of their choosing. It is counted and logged as a refused caller.
      if (request.caller === null) return payload
      const tenantId = param<string>(request, 'tenantId', tenantIdSchema)
      if (tenantId === null) return payload
      try {
        await audit.record({
          tenant_id: tenantId,
          client_id: request.caller?.clientId ?? null,
          action,
          outcome: outcomeOf(reply.statusCode),
          error_code: request.errorCode,
          user_id: param<string>(request, 'userId', userIdSchema),
          connector_type: param<string>(request, 'connectorType', connectorTypeSchema),
          connector_id: param<string>(request, 'connectorId', connectorIdSchema),
          request_id: request.id,
          caller_request_id: request.callerRequestId,
          key_version: request.auditKeyVersion,
        })
        return payload
      } catch (error) {
        onAuditFailure?.()
        request.log.error({ action, cause: { type: (error as Error).name } }, 'audit event could not be written')
        if (reply.statusCode >= 400) return payload
        request.errorCode = 'service.unavailable'
        reply.code(503).type('application/json; charset=utf-8').header('retry-after', '1')
        return JSON.stringify({
          code: 'service.unavailable',
          message: 'The audit trail cannot be written right now; the request was not answered',
          request_id: request.id,
        })
      }
    })
  },
  { name: 'audit', dependencies: ['auth'] },
)
