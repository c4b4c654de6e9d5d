import { randomUUID } from 'node:crypto'
import sensible from '@fastify/sensible'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import underPressure from '@fastify/under-pressure'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import { auditPlugin } from './audit/audit.plugin.ts'
import { auditRoutes } from './audit/audit.routes.ts'
import { createAuditService } from './audit/audit.service.ts'
import { type AuditSealer, type AuditSealerOptions, createAuditSealer } from './audit/audit-digests.ts'
import { authPlugin } from './auth/auth.plugin.ts'
import type { Authenticator } from './auth/authenticator.ts'
import { developmentTokenEndpoint } from './auth/development-token-endpoint.ts'
import { SERVICE_DEFAULTS } from './config.ts'
import { connectorRoutes } from './connectors/connector.routes.ts'
import { createRefreshSettingsService } from './connectors/refresh-settings.service.ts'
import type { DB } from './db/schema.ts'
import { countDataKeys, ensureAuditPartitions } from './db/vault-functions.ts'
import { createEgressPolicy, type EgressPolicyOptions } from './egress/egress-policy.ts'
import { VaultError } from './errors.ts'
import { clientErrorHandler, frameworkError, installErrorHandling, SECURITY_HEADERS } from './http/error-handler.ts'
import { healthRoutes } from './http/health.routes.ts'
import { metricsRoutes } from './http/operations.routes.ts'
import { installRequestLogging } from './http/request-logging.ts'
import type { DataKeyRing } from './keys/data-key-ring.ts'
import type { ObservedKeyProvider } from './keys/instrumented-key-provider.ts'
import { mfaRoutes } from './mfa/mfa.routes.ts'
import { createMfaService } from './mfa/mfa.service.ts'
import { createProviderClient } from './oauth/provider-client.ts'
import { createMetrics, type Metrics } from './observability/metrics.ts'
import { traceRequests } from './observability/tracing.ts'
import { openApiInfo, openApiTransform, openApiTransformObject } from './openapi.ts'
import { createPoller, type OutboxOptions } from './outbox/outbox-worker.ts'
import { countConnectionsByHealth } from './token-sets/connection-counts.ts'
import { createKeepAlive, type KeepAlive, type KeepAliveOptions } from './token-sets/keep-alive.ts'
import { createRefreshTokenRevocation, type RefreshTokenRevocation } from './token-sets/revoke-refresh-tokens.ts'
import { createTokenRefresher } from './token-sets/token-refresh.ts'
import { deleteTokenSetsOfConnector } from './token-sets/token-set.repository.ts'
import { tokenSetRoutes } from './token-sets/token-set.routes.ts'
import { createTokenSetService } from './token-sets/token-set.service.ts'
import { userSecretRoutes } from './user-secrets/user-secret.routes.ts'
import { createUserSecretService } from './user-secrets/user-secret.service.ts'
import { userRoutes } from './users/user.routes.ts'
import { webhookRoutes } from './webhooks/webhook.routes.ts'
import { createWebhookService } from './webhooks/webhook.service.ts'
import { createWebhookDelivery, type WebhookDelivery } from './webhooks/webhook-delivery.ts'

export type DevelopmentIssuerOptions = Parameters<typeof developmentTokenEndpoint>[1]

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
  /** Where outbound calls may go (see src/egress). Defaults to nowhere internal, https only. */
  egress?: EgressOptions
  /** Keep-alive sweeps of idle token sets (see src/token-sets/keep-alive.ts). */
  keepAlive?: KeepAliveOptions
  /** How this replica works off the outbox: webhook deliveries and refresh-token revocations (see src/outbox). */
  outbox?: OutboxOptions
  /** How this replica seals audit events into digests (see src/audit/audit-digests.ts). */
  auditSeal?: AuditSealerOptions
  /** The embedded default only: its development issuer's token endpoint (client credentials). */
  developmentIssuer?: DevelopmentIssuerOptions
  now?: () => Date
}

export type EgressOptions = Pick<EgressPolicyOptions, 'allow' | 'allowInsecureHttp'>

/** How the vault refreshes expiring access tokens at the providers. */
export interface RefreshOptions {
  /** A read refreshes a token that expires within this margin. */
  marginMs: number
  /** One provider exchange (discovery or token request) at most this long. */
  timeoutMs: number
  /** How long a read waits for another replica's refresh of the same set. */
  lockTimeoutMs: number
  /** How long a read of a still-valid token waits for its refresh before it is served as stored. */
  readWaitMs: number
}

export const DEFAULT_REFRESH: RefreshOptions = {
  marginMs: SERVICE_DEFAULTS.refreshMarginSeconds * 1000,
  timeoutMs: SERVICE_DEFAULTS.refreshTimeoutMs,
  lockTimeoutMs: SERVICE_DEFAULTS.refreshLockTimeoutMs,
  readWaitMs: SERVICE_DEFAULTS.refreshReadWaitMs,
}
const DEFAULT_EGRESS: EgressOptions = { allow: [], allowInsecureHttp: false }
export const DEFAULT_KEEP_ALIVE: KeepAliveOptions = {
  intervalMs: SERVICE_DEFAULTS.keepAliveIntervalSeconds * 1000,
  batch: SERVICE_DEFAULTS.keepAliveBatch,
}
export const DEFAULT_OUTBOX: OutboxOptions = {
  pollIntervalMs: SERVICE_DEFAULTS.outboxPollMs,
  batch: SERVICE_DEFAULTS.outboxBatch,
  timeoutMs: SERVICE_DEFAULTS.outboxTimeoutMs,
  retryPeriodMs: SERVICE_DEFAULTS.outboxRetryHours * 3_600_000,
  retentionMs: SERVICE_DEFAULTS.outboxRetentionDays * 86_400_000,
}

export const DEFAULT_AUDIT_SEAL: AuditSealerOptions = {
  intervalMs: SERVICE_DEFAULTS.auditSealIntervalSeconds * 1000,
  batch: SERVICE_DEFAULTS.auditSealBatch,
}

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
  maxEventLoopDelayMs: SERVICE_DEFAULTS.maxEventLoopDelayMs,
  maxEventLoopUtilization: SERVICE_DEFAULTS.maxEventLoopUtilization,
  maxHeapUsedBytes: SERVICE_DEFAULTS.maxHeapUsedBytes,
  retryAfterSeconds: SERVICE_DEFAULTS.overloadRetryAfterSeconds,
  requestTimeoutMs: SERVICE_DEFAULTS.requestTimeoutMs,
}

export const API_PREFIX = '/v1'

/** The audit trail's monthly partitions are kept this far ahead, checked this often. */
const AUDIT_PARTITIONS_AHEAD_MS = 92 * 86_400_000
const AUDIT_PARTITIONS_INTERVAL_MS = 86_400_000

declare module 'fastify' {
  interface FastifyInstance {
    /** This replica's keep-alive sweeps; tests and operators may run one now. */
    keepAlive: KeepAlive
    /** This replica's webhook deliveries; tests may deliver what is due now. */
    webhookDelivery: WebhookDelivery
    /** This replica's revocations of refresh tokens left behind; tests may revoke what is due now. */
    revocations: RefreshTokenRevocation
    /** This replica's sealing of audit events into digests; tests may seal now. */
    auditSealer: AuditSealer
  }
}

/** The app is a function of its dependencies: no environment, no ports, no signals here. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const overload = deps.overload ?? DEFAULT_OVERLOAD
  const metrics = deps.metrics ?? createMetrics()
  metrics.observeDataKeyCacheSize(() => deps.keyRing.stats().size)
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // The vault writes its own line per request (request-logging.ts): Fastify's carries the whole URL.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    // The whole request, headers and body, must arrive within this time; the server checks often enough for
    // a trickled or stalled body to be cut close to it, with the vault's error body (clientErrorHandler).
    requestTimeout: overload.requestTimeoutMs,
    http: {
      headersTimeout: overload.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, overload.requestTimeoutMs / 4)),
    },
    clientErrorHandler: clientErrorHandler((code) => metrics.errors.inc({ code })),
    frameworkErrors: frameworkError,
    // The vault's own id for every request; a caller's well-formed x-request-id is kept beside it.
    genReqId: () => randomUUID(),
    // Long enough that an over-long id gets our validation error instead of the router's bare 414.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
  }).withTypeProvider<ZodTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  await app.register(sensible)
  await app.register(swagger, { openapi: openApiInfo, transform: openApiTransform, transformObject: openApiTransformObject })
  traceRequests(app)
  installErrorHandling(app)
  // Only JSON bodies: Fastify's default text/plain parser would turn a wrong media type into a 400.
  app.removeContentTypeParser('text/plain')
  // First of all hooks, so that every response — shed, refused or served — carries these.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id).headers(SECURITY_HEADERS)
    if (Object.hasOwn(request.query as object, 'access_token')) {
      throw new VaultError('request.invalid', 'Send the access token in the Authorization header, never in the URL', {
        issues: [{ path: 'query.access_token', message: 'a token in a URL ends up in logs and histories: use Authorization: Bearer' }],
      })
    }
  })
  installRequestLogging(app)
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
  await app.register(authPlugin, { authenticator: deps.authenticator, onRefusal: (reason) => metrics.callerRefusals.inc({ reason }) })
  const audit = createAuditService({ db: deps.db, onWriteFailure: () => metrics.auditWriteFailures.inc() })
  await app.register(auditPlugin, { audit })

  const refresh = deps.refresh ?? DEFAULT_REFRESH
  const egress = createEgressPolicy({ ...(deps.egress ?? DEFAULT_EGRESS), connectTimeoutMs: refresh.timeoutMs })
  app.addHook('onClose', () => egress.close())
  const now = deps.now ?? (() => new Date())
  const provider = createProviderClient({ timeoutMs: refresh.timeoutMs, egress })
  const refresher = createTokenRefresher({
    db: deps.db,
    keyRing: deps.keyRing,
    provider,
    marginMs: refresh.marginMs,
    lockTimeoutMs: refresh.lockTimeoutMs,
    readWaitMs: refresh.readWaitMs,
    now,
    onRefresh: (outcome) => metrics.tokenRefreshes.inc({ outcome }),
  })
  const tokenSets = createTokenSetService({ db: deps.db, keyRing: deps.keyRing, refresher, now })
  const keepAlive = createKeepAlive({
    db: deps.db,
    refresher,
    now,
    logger: deps.logger,
    ...(deps.keepAlive ?? DEFAULT_KEEP_ALIVE),
    onOutcome: (outcome) => metrics.keepAliveRefreshes.inc({ outcome }),
  })
  app.decorate('keepAlive', keepAlive)
  app.addHook('onReady', async () => keepAlive.start())
  const outbox = deps.outbox ?? DEFAULT_OUTBOX
  const webhookDelivery = createWebhookDelivery({
    db: deps.db,
    keyRing: deps.keyRing,
    egress,
    now,
    logger: deps.logger,
    ...outbox,
    onAttempt: (outcome) => metrics.webhookDeliveries.inc({ outcome }),
  })
  const revocations = createRefreshTokenRevocation({
    db: deps.db,
    keyRing: deps.keyRing,
    provider,
    now,
    logger: deps.logger,
    ...outbox,
    onAttempt: (outcome) => metrics.tokenRevocations.inc({ outcome }),
  })
  // The audit trail's months are made ahead of need, at start and daily, by every replica (idempotent).
  const auditMonths = createPoller({
    intervalMs: AUDIT_PARTITIONS_INTERVAL_MS,
    logger: deps.logger,
    what: 'audit partition upkeep',
    round: () => ensureAuditPartitions(deps.db, new Date(now().getTime() + AUDIT_PARTITIONS_AHEAD_MS)),
  })
  const auditSealer = createAuditSealer({
    db: deps.db,
    keyRing: deps.keyRing,
    now,
    logger: deps.logger,
    options: deps.auditSeal ?? DEFAULT_AUDIT_SEAL,
    onSeal: (outcome) => metrics.auditSeals.inc({ outcome }),
  })
  app.decorate('auditSealer', auditSealer)
  app.decorate('webhookDelivery', webhookDelivery)
  app.decorate('revocations', revocations)
  app.addHook('onReady', async () => {
    // The default partition keeps every insert safe: a failed upkeep is logged and tried again tomorrow.
    await auditMonths.runNow().catch((error: unknown) => deps.logger.error({ err: error }, 'audit partition upkeep failed'))
    auditMonths.start()
    webhookDelivery.start()
    revocations.start()
    auditSealer.start()
  })
  // Before anything closes (the egress policy, then the pool): a sweep in progress finishes its refresh,
  // a delivery or revocation in flight records its outcome.
  app.addHook('preClose', () =>
    Promise.all([keepAlive.stop(), webhookDelivery.stop(), revocations.stop(), auditMonths.stop(), auditSealer.stop()]).then(
      () => undefined,
    ),
  )
  metrics.observeConnections(() => countConnectionsByHealth(deps.db))
  metrics.observeDataKeys(async () => Object.fromEntries((await countDataKeys(deps.db)).map(({ state, count }) => [state, count])))
  const refreshSettings = createRefreshSettingsService({
    db: deps.db,
    keyRing: deps.keyRing,
    egress,
    deleteTokenSetsOfConnector: (trx, key) => deleteTokenSetsOfConnector(trx, key.tenantId, key.connectorType, key.connectorId),
  })
  await app.register(healthRoutes, { db: deps.db, keyProvider: deps.keyProvider })
  await app.register(metricsRoutes, { metrics })
  // The interactive reference, from the same document as openapi.yaml; public like the contract itself.
  if (deps.developmentIssuer !== undefined) await app.register(developmentTokenEndpoint, deps.developmentIssuer)
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true, uiConfig: { deepLinking: true, displayRequestDuration: true } })
  await app.register(tokenSetRoutes, { prefix: API_PREFIX, tokenSets })
  await app.register(connectorRoutes, { prefix: API_PREFIX, refreshSettings })
  await app.register(userSecretRoutes, { prefix: API_PREFIX, userSecrets: createUserSecretService({ db: deps.db, keyRing: deps.keyRing }) })
  await app.register(mfaRoutes, { prefix: API_PREFIX, mfa: createMfaService({ db: deps.db, keyRing: deps.keyRing, now }) })
  await app.register(userRoutes, { prefix: API_PREFIX, db: deps.db })
  await app.register(webhookRoutes, {
    prefix: API_PREFIX,
    webhooks: createWebhookService({ db: deps.db, keyRing: deps.keyRing, egress, now }),
  })
  await app.register(auditRoutes, { prefix: API_PREFIX, audit })
  return app
}
