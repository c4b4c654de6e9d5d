import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import type { Test } from 'tap'
import type { RefreshOptions } from '../../src/app.ts'
import { type FakeTokenEndpoint, startFakeTokenEndpoint } from './fake-token-endpoint.ts'
import { buildTestApp, type TestContext, uniqueTenant } from './helper.ts'
import { connectionPath, githubPush, push } from './http.ts'
import type { TestDatabase } from './test-database.ts'

/**
 * A connection whose refresh a test scripts: a replica of the app, a fake provider token endpoint with the
 * connector's refresh settings pointing at it, and a token set pushed at the app's clock, due in an hour.
 */
export const HOUR_MS = 3600 * 1000
export const CLIENT_SECRET = 'cs_Sup3r+secret/=='

export interface Scenario extends TestContext {
  fake: FakeTokenEndpoint
  tenant: string
  read(query?: string): Promise<LightMyRequestResponse>
  advance(ms: number): void
  sealed(): Promise<{ access: string; refresh: string | null; state: string; scope: string }>
}

export interface ScenarioOptions {
  /** The connector's refresh settings beyond the fake endpoint and client; null: none at all. */
  settings?: Record<string, unknown> | null
  refresh?: Partial<RefreshOptions>
  /** Another replica's scenario to share the provider, tenant and token set with. */
  sharing?: Scenario
}

export async function refreshScenario(t: Test, database: TestDatabase, options: ScenarioOptions = {}): Promise<Scenario> {
  const context = await buildTestApp(t, database, {
    ...(options.refresh === undefined ? {} : { refresh: options.refresh }),
    // Replicas of one deployment share its key provider.
    ...(options.sharing === undefined ? {} : { provider: options.sharing.provider }),
  })
  if (options.sharing !== undefined) return replicaOf(options.sharing, context)
  const fake = await startFakeTokenEndpoint(t)
  const tenant = uniqueTenant('refresh')
  if (options.settings !== null) {
    const res = await context.app.inject({
      method: 'PUT',
      url: `/v1/tenants/${tenant}/connectors/social/github/refresh-settings`,
      payload: { token_endpoint: fake.tokenEndpoint, client_id: 'client 1', client_secret: CLIENT_SECRET, ...options.settings },
    })
    t.equal(res.statusCode, 201, res.body)
  }
  const pushed = await push(
    context.app,
    { tenant },
    githubPush('gho_old', { issued_at: context.clock.now.toISOString() }, { refresh_token: 'ghr_old', expires_in: 3600 }),
  )
  t.equal(pushed.statusCode, 201, pushed.body)
  return {
    ...context,
    fake,
    tenant,
    read: (query = '') => context.app.inject({ method: 'GET', url: `${connectionPath({ tenant })}/access-token${query}` }),
    advance(ms) {
      context.clock.now = new Date(context.clock.now.getTime() + ms)
    },
    async sealed() {
      const row = await sql<{ access: string; refresh: string | null; state: string; scope: string }>`
        SELECT encode(access_token_sealed, 'hex') AS access, encode(refresh_token_sealed, 'hex') AS refresh, state, scope
        FROM token_sets WHERE tenant_id = ${tenant}`.execute(database.admin)
      return row.rows[0]!
    },
  }
}

export const tokens = (accessToken: string, extra: Record<string, unknown> = {}) => ({
  body: { access_token: accessToken, token_type: 'bearer', expires_in: 3600, ...extra },
})

/** A second replica of the same deployment: its own app (and clock), the same database, provider and set. */
function replicaOf(first: Scenario, context: TestContext): Scenario {
  context.clock.now = first.clock.now
  return {
    ...context,
    fake: first.fake,
    tenant: first.tenant,
    read: (query = '') => context.app.inject({ method: 'GET', url: `${connectionPath({ tenant: first.tenant })}/access-token${query}` }),
    /** Moves both replicas' clocks. */
    advance(ms) {
      first.advance(ms)
      context.clock.now = first.clock.now
    },
    sealed: first.sealed,
  }
}
