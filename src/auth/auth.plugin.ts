import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Authenticator, Caller } from './authenticator.ts'
import { insufficientScope, tenantForbidden } from './authenticator.ts'
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
  async (app: FastifyInstance, { authenticator }: AuthPluginOptions) => {
    app.decorateRequest('caller', null)
    app.addHook('onRequest', async (request) => {
      const scope = request.routeOptions.config.scope
      if (scope === undefined) return
      const caller = await authenticator.authenticate(request.headers.authorization)
      request.caller = caller
      if (!caller.scopes.has(scope)) throw insufficientScope(scope)
      const tenant = requestedTenant(request)
      if (caller.tenants !== null && (tenant === undefined || !caller.tenants.has(tenant))) throw tenantForbidden()
    })
  },
  { name: 'auth' },
)
