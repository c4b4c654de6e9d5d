import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { AuditOutcome } from '../db/schema.ts'
import type { VaultError } from '../errors.ts'
import { PROBLEM_CONTENT_TYPE, problemDetails } from '../http/error-response.ts'
import { connectorIdSchema, connectorTypeSchema, tenantIdSchema, userIdSchema } from '../schemas/ids.ts'
import type { AuditAction } from './audit.schemas.ts'
import type { AuditService } from './audit.service.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Routes with an audit action leave one audit event per request, whatever its outcome. */
    audit?: AuditAction
    /**
     * The service records this route's success itself, with what it did (a push in the push's own
     * transaction, a read before its token leaves); the hook records every other outcome.
     */
    auditSuccessRecordedByService?: true
  }
  interface FastifyRequest {
    /** Set by a handler when the request used a data key. */
    auditKeyVersion: number | null
  }
}

export interface AuditPluginOptions {
  audit: AuditService
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
 * is turned into a 503, so no token leaves the vault unaudited.
 */
export const auditPlugin = fp(
  async (app: FastifyInstance, { audit }: AuditPluginOptions) => {
    app.decorateRequest('auditKeyVersion', null)
    app.addHook('onSend', async (request, reply, payload) => {
      const { audit: action, auditSuccessRecordedByService } = request.routeOptions.config
      if (action === undefined) return payload
      if (auditSuccessRecordedByService === true && reply.statusCode < 400) return payload
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
        const unavailable = error as VaultError
        request.log.error({ action, cause: { type: (unavailable.cause as Error | undefined)?.name } }, 'audit event could not be written')
        if (reply.statusCode >= 400) return payload
        request.errorCode = unavailable.code
        reply.code(unavailable.statusCode).type(PROBLEM_CONTENT_TYPE).header('retry-after', String(unavailable.retryAfterSeconds))
        return JSON.stringify(problemDetails(unavailable, request.id))
      }
    })
  },
  { name: 'audit', dependencies: ['auth'] },
)
