import { API_PREFIX, buildApp } from './app.ts'
import { createAuthenticatorFromConfig } from './auth/authenticator-from-config.ts'
import { readDevelopmentSigningKey } from './auth/development-issuer.ts'
import { DEVELOPMENT_TOKEN_PATH, ensureDevelopmentClient } from './auth/development-token-endpoint.ts'
import { ConfigError, loadConfig } from './config.ts'
import { VaultError } from './errors.ts'
import { listenForKeyEvents } from './key-lifecycle/key-events.ts'
import { createLogger } from './logger.ts'
import { startTracing } from './observability/tracing.ts'
import { openRuntime } from './runtime.ts'

async function main(): Promise<void> {
  // Before anything else, so every span has its provider (a no-op unless OTEL_* variables turn it on).
  const tracing = startTracing(process.env)
  const config = loadConfig(process.env)
  const logger = createLogger(config.logLevel)
  for (const { name, closest } of config.ignoredVariables) {
    logger.warn({ variable: name, closest }, `${name} is not a secret-vault setting and is ignored (the closest is ${closest})`)
  }
  const runtime = await openRuntime(config, logger, { createEmbedded: true })
  const authenticator = await createAuthenticatorFromConfig(config, logger)
  // Without an external issuer the development issuer also answers client credentials, for the typed client.
  const developmentIssuer =
    config.auth.issuer === undefined
      ? {
          key: readDevelopmentSigningKey(config.dataDir),
          client: ensureDevelopmentClient(config.dataDir),
          audience: config.auth.audience,
          tenantClaim: config.auth.tenantClaim,
        }
      : undefined
  const app = await buildApp({
    db: runtime.database.db,
    keyProvider: runtime.keyProvider,
    keyRing: runtime.keyRing,
    // Only the server verifies callers; operator commands run with database and key-provider access.
    authenticator,
    developmentIssuer,
    metrics: runtime.metrics,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    overload: config.overload,
    refresh: config.refresh,
    egress: config.egress,
    keepAlive: config.keepAlive,
    outbox: config.outbox,
    auditSeal: config.auditSeal,
  })

  // SIGTERM: stop accepting (new requests get 503), let in-flight requests finish within the deadline,
  // then close the pool. Every write that was answered 2xx was committed before its answer.
  // Operators' key changes reach this replica at once; the cache's time limit is the fallback (and the only
  // mechanism on the embedded database, which one process owns).
  const keyEvents =
    config.database.kind === 'postgres'
      ? listenForKeyEvents(config.database.listenUrl, (tenantId) => runtime.keyRing.forgetTenant(tenantId), logger)
      : undefined

  let closing = false
  const shutdown = (signal: string) => {
    if (closing) return
    closing = true
    logger.info({ signal }, 'shutting down')
    const deadline = setTimeout(() => {
      logger.error('in-flight requests did not finish in time; exiting')
      process.exit(1)
    }, config.shutdownDeadlineMs)
    deadline.unref()
    app
      .close()
      .then(() => keyEvents?.close())
      .then(() => runtime.close())
      .then(() => tracing?.shutdown())
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      })
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)

  const address = await app.listen({ port: config.port, host: config.host })
  logger.info(
    {
      address,
      database: runtime.database.kind,
      keyProvider: runtime.keyProvider.name,
      try: `TOKEN=$(npm run -s cli -- token mint) && curl -H "Authorization: Bearer $TOKEN" ${address}${API_PREFIX}/tenants/demo/users/alice/connections`,
    },
    `secret-vault listening on ${address} (API under ${address}${API_PREFIX}, contract in openapi.yaml)`,
  )
  if (developmentIssuer !== undefined) {
    // Printed, not logged: a development credential of the embedded default, for the typed client (docs/client.md).
    const { clientId, clientSecret } = developmentIssuer.client
    process.stdout.write(
      `development client (embedded default only): tokenEndpoint ${address}${DEVELOPMENT_TOKEN_PATH} clientId ${clientId} clientSecret ${clientSecret}\n`,
    )
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof VaultError) {
    process.stderr.write(`secret-vault: ${error.message}\n`)
  } else {
    process.stderr.write(`secret-vault: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  }
  process.exit(1)
})
