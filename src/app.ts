import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import sensible from '@fastify/sensible'
import underPressure from '@fastify/under-pressure'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { auditPlugin } from './audit/audit.plugin.ts'
import { auditRoutes } from './audit/audit.routes.ts'
import { createAuditService } from './audit/audit.service.ts'
import { authPlugin } from './auth/auth.plugin.ts'
import type { Authenticator } from './auth/authenticator.ts'
import type { DB } from './db/schema.ts'
import { VaultError } from './errors.ts'
import { installErrorHandling } from './http/error-handler.ts'
import { metricsRoutes } from './http/operations.routes.ts'
import { createMetrics, type Metrics } from './observability/metrics.ts'
import { healthRoutes } from './http/health.routes.ts'
import type { DataKeyRing } from './keys/data-key-ring.ts'
import type { ObservedKeyProvider } from './keys/instrumented-key-provider.ts'
import { openApiInfo, openApiTransform, openApiTransformObject } from './openapi.ts'
import { tokenSetRoutes } from './token-sets/token-set.routes.ts'
import { createTokenSetService } from './token-sets/token-set.service.ts'
import { createTokenRefresher } from './token-sets/token-refresh.ts'
import { createProviderClient } from './refresh/provider-client.ts'
import { connectorRoutes } from './connectors/connector.routes.ts'
import { createRefreshSettingsService } from './connectors/refresh-settings.service.ts'

export interface AppDeps {
  db: Kysely<DB>
  /** Its health (from real calls) is reported by readiness; it is never called per probe. */
  keyProvider: ObservedKeyProvider
  keyRing: DataKeyRing
  authenticator: Authenticator
  logger: Logger
  bodyLimitBytes: number
  /** Defaults to fresh, unshared metrics. */
  metrics?: Metrics
  overload?: OverloadOptions
  refresh?: RefreshOptions
  now?: () => Date
}

/** How the vault refreshes expiring access tokens at the providers. */
export interface RefreshOptions {
  /** A read refreshes a token that expires within this margin. */
  marginMs: number
  /** One provider exchange (discovery or token request) at most this long. */
  timeoutMs: number
  /** How long a read waits for another replica's refresh of the same set. */
  lockTimeoutMs: number
  /** Plain-http token endpoints: development and tests only. */
  allowInsecureHttp: boolean
}

export const DEFAULT_REFRESH: RefreshOptions = { marginMs: 60_000, timeoutMs: 10_000, lockTimeoutMs: 15_000, allowInsecureHttp: false }

/** Load shedding: past these, API requests get 503 service.unavailable with Retry-After (0 disables one). */
export interface OverloadOptions {
  maxEventLoopDelayMs: number
  maxEventLoopUtilization: number
  maxHeapUsedBytes: number
  retryAfterSeconds: number
  requestTimeoutMs: number
  sampleIntervalMs?: number
}

export const DEFAULT_OVERLOAD: OverloadOptions = {
  maxEventLoopDelayMs: 1000,
  maxEventLoopUtilization: 0,
  maxHeapUsedBytes: 0,
  retryAfterSeconds: 2,
  requestTimeoutMs: 30_000,
}

export const API_PREFIX = '/v1'
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The app is a function of its dependencies: no environment, no ports, no signals here. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const overload = deps.overload ?? DEFAULT_OVERLOAD
  const metrics = deps.metrics ?? createMetrics()
  metrics.observeDataKeyCacheSize(() => deps.keyRing.stats().size)
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.bodyLimitBytes,
    // A client that trickles its request is cut off rather than holding a socket forever.
    requestTimeout: overload.requestTimeoutMs,
    // A caller's request id is kept when it is well-formed, so one id follows a request across services.
    genReqId: (request) => {
      const incoming = request.headers['x-request-id']
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    },
    // Long enough that an over-long id gets our validation error instead of the router's bare 414.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
  }).withTypeProvider<ZodTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  await app.register(sensible)
  await app.register(swagger, { openapi: openApiInfo, transform: openApiTransform, transformObject: openApiTransformObject })
  installErrorHandling(app)
  // First of all hooks, so that every response — shed, refused or served — carries these.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
    // Responses may carry tokens: no cache anywhere may keep them.
    reply.header('cache-control', 'no-store')
  })
  await app.register(underPressure, {
    maxEventLoopDelay: overload.maxEventLoopDelayMs,
    maxEventLoopUtilization: overload.maxEventLoopUtilization,
    // Utilization over the last sample, not since start: a past burst must not keep a replica shedding.
    eventLoopUtilizationMode: 'interval',
    maxHeapUsedBytes: overload.maxHeapUsedBytes,
    ...(overload.sampleIntervalMs === undefined ? {} : { sampleInterval: overload.sampleIntervalMs }),
    // Rejecting hands the error to the error handler and stops the request; a handler that replies and
    // returns nothing would let under-pressure carry on into the route, which would then do the work.
    pressureHandler: async () => {
      throw new VaultError('service.unavailable', 'The service is overloaded; retry shortly', {
        retryAfterSeconds: overload.retryAfterSeconds,
      })
    },
  })
  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }
    metrics.httpRequestDuration.observe(labels, reply.elapsedTime / 1000)
    if (request.errorCode !== null) metrics.errors.inc({ code: request.errorCode })
  })
  await app.register(authPlugin, { authenticator: deps.authenticator })
  const audit = createAuditService({ db: deps.db })
  await app.register(auditPlugin, { audit, onAuditFailure: () => metrics.auditWriteFailures.inc() })


  const refresh = deps.refresh ?? DEFAULT_REFRESH
  const now = deps.now ?? (() => new Date())
  const refresher = createTokenRefresher({
    db: deps.db,
    keyRing: deps.keyRing,
    provider: createProviderClient({ timeoutMs: refresh.timeoutMs, allowInsecureHttp: refresh.allowInsecureHttp }),
    marginMs: refresh.marginMs,
    lockTimeoutMs: refresh.lockTimeoutMs,
    now,
    onRefresh: (outcome) => metrics.tokenRefreshes.inc({ outcome }),
  })
  const tokenSets = createTokenSetService({ db: deps.db, keyRing: deps.keyRing, refresher, now })
  const refreshSettings = createRefreshSettingsService({ db: deps.db, keyRing: deps.keyRing, allowInsecureHttp: refresh.allowInsecureHttp })
  await app.register(healthRoutes, { db: deps.db, keyProvider: deps.keyProvider })
  await app.register(metricsRoutes, { metrics })
  // The interactive reference, from the same document as openapi.yaml; public like the contract itself.
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { deepLinking: true, displayRequestDuration: true } })
  await app.register(tokenSetRoutes, { prefix: API_PREFIX, tokenSets })
  await app.register(connectorRoutes, { prefix: API_PREFIX, refreshSettings })
  await app.register(auditRoutes, { prefix: API_PREFIX, audit })
  return app
}
