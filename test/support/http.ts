import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

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

export function push(app: FastifyInstance, ref: ConnectionRef, body: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'PUT', url: `${connectionPath(ref)}/token-set`, payload: body as object })
}

export function readAccessToken(app: FastifyInstance, ref: ConnectionRef): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `${connectionPath(ref)}/access-token` })
}

export function listConnections(app: FastifyInstance, tenant: string, user = 'alice'): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `/v1/tenants/${tenant}/users/${user}/connections` })
}
