import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Authenticator, Caller, RefusalReason } from './authenticator.ts'
import { CallerRefused, insufficientScope, tenantForbidden } from './authenticator.ts'
import type { Scope } from './scopes.ts'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The scope a route requires; routes without it (health, docs) are public. */
    scope?: Scope
  }
  interface FastifyRequest {
    caller: Caller | null
  }
}

export interface AuthPluginOptions {
  authenticator: Authenticator
  /** Told of every refused caller, by reason (a metric). */
  onRefusal?: (reason: RefusalReason) => void
}

function requestedTenant(request: FastifyRequest): string | undefined {
  const params = request.params as { tenantId?: unknown } | undefined
  return typeof params?.tenantId === 'string' ? params.tenantId : undefined
}

/**
 * Authenticates and authorizes before the body is even parsed. Scope and tenant are checked before any
 * lookup, so a refusal says nothing about whether a token set exists.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, { authenticator, onRefusal }: AuthPluginOptions) => {
    app.decorateRequest('caller', null)
    app.addHook('onRequest', async (request) => {
      const scope = request.routeOptions.config.scope
      if (scope === undefined) return
      try {
        const caller = await authenticator.authenticate(request.headers.authorization)
        request.caller = caller
        if (!caller.scopes.has(scope)) throw insufficientScope(scope, caller.clientId)
        const tenant = requestedTenant(request)
        if (caller.tenants !== null && (tenant === undefined || !caller.tenants.has(tenant))) throw tenantForbidden(caller.clientId)
      } catch (error) {
        // The caller gets one generic message per code; the operator learns why, never from the token itself.
        if (error instanceof CallerRefused) {
          request.log.info(
            { reason: error.reason, ...(error.clientId === undefined ? {} : { clientId: error.clientId }) },
            'caller refused',
          )
          onRefusal?.(error.reason)
        }
        throw error
      }
    })
  },
  { name: 'auth' },
)
