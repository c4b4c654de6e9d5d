import type { InjectOptions, LightMyRequestResponse } from 'fastify'

/** Anything that answers requests the way app.inject does (a test client, or the app itself). */
export interface Injector {
  inject(options: InjectOptions): Promise<LightMyRequestResponse>
}

export interface ConnectionRef {
  tenant: string
  user?: string
  type?: string
  connector?: string
}

export function connectionPath({ tenant, user = 'alice', type = 'social', connector = 'github' }: ConnectionRef): string {
  return `/v1/tenants/${tenant}/users/${user}/connections/${type}/${connector}`
}

export function githubPush(accessToken: string, extra: Record<string, unknown> = {}, response: Record<string, unknown> = {}) {
  return {
    target: 'github',
    provider_subject: '583231',
    token_response: { access_token: accessToken, token_type: 'bearer', scope: 'repo,read:user', ...response },
    ...extra,
  }
}

export function push(app: Injector, ref: ConnectionRef, body: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'PUT', url: `${connectionPath(ref)}/token-set`, payload: body as object })
}

export function readAccessToken(app: Injector, ref: ConnectionRef): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `${connectionPath(ref)}/access-token` })
}

export function listConnections(app: Injector, tenant: string, user = 'alice'): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/users/${user}/connections` })
}
