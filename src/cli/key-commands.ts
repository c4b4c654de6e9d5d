import { loadConfig } from '../config.ts'
import { inOperatorTransaction } from '../db/tenant-scope.ts'
import { destroyDataKey, shredTenant } from '../key-lifecycle/destroy-and-shred.ts'
import { dataKeyStatus, tenantIds } from '../key-lifecycle/key-lifecycle.repository.ts'
import { reencryptTokenSets } from '../key-lifecycle/reencrypt-token-sets.ts'
import { type RotationResult, rotateDataKey } from '../key-lifecycle/rotate-data-keys.ts'
import { rotateRootKey } from '../key-lifecycle/rotate-root-key.ts'
import { verifyTokenSets } from '../key-lifecycle/verify-token-sets.ts'
import { createLogger } from '../logger.ts'
import { openRuntime, type Runtime } from '../runtime.ts'
import { createOutput, type OutputFormat, table } from './output.ts'

/** Wrong command-line use: exit code 2. */
export class UsageError extends Error {}

/** Exit codes every command shares (README's "Operator commands" lists them). */
export const EXIT = { done: 0, refused: 1, usage: 2, interrupted: 130 } as const

export async function withRuntime<T>(work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env)
  // Logs go to stderr, so stdout carries only the command's output (a table or JSON).
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, process.stderr)
  // Operator commands never create a database: a missing one is a wrong configuration, not a fresh start.
  const runtime = await openRuntime(config, logger, { createEmbedded: false })
  try {
    return await work(runtime)
  } finally {
    await runtime.close()
  }
}

export async function keysStatus({ tenant: tenantId, format }: { tenant?: string; format: OutputFormat }): Promise<number> {
  const output = createOutput(format)
  return withRuntime(async ({ database, keyProvider }) => {
    const rows = await inOperatorTransaction(database.db, (trx) => dataKeyStatus(trx, tenantId))
    const rootKeys = [...new Set([...keyProvider.knownRootKeyIds, ...rows.map((row) => row.root_key_id)])].map((id) => ({
      id,
      active: id === keyProvider.activeRootKeyId,
      configured: keyProvider.knownRootKeyIds.includes(id),
      data_keys: rows.filter((row) => row.root_key_id === id).length,
      tenants: new Set(rows.filter((row) => row.root_key_id === id).map((row) => row.tenant_id)).size,
    }))
    const dataKeys = rows.map((row) => ({
      tenant_id: row.tenant_id,
      version: row.version,
      state: row.state,
      root_key_id: row.root_key_id,
      token_sets: row.token_sets,
      connector_secrets: row.connector_secrets,
      user_secrets: row.user_secrets,
      mfa_factors: row.mfa_factors,
      webhook_endpoints: row.webhook_secrets,
      audit_digests: row.audit_digests,
      created_at: row.created_at.toISOString(),
      retired_at: row.retired_at?.toISOString() ?? null,
    }))
    output.result({ provider: keyProvider.name, root_keys: rootKeys, data_keys: dataKeys }, () =>
      [
        `key provider: ${keyProvider.name}`,
        '',
        table(
          ['ROOT KEY', 'ACTIVE', 'CONFIGURED', 'DATA KEYS', 'TENANTS'],
          rootKeys.map((k) => [k.id, k.active ? 'yes' : '', k.configured ? 'yes' : 'NO', k.data_keys, k.tenants]),
        ),
        '',
        table(
          [
            'TENANT',
            'VERSION',
            'STATE',
            'TOKEN SETS',
            'CONNECTORS',
            'USER SECRETS',
            'MFA FACTORS',
            'WEBHOOKS',
            'AUDIT DIGESTS',
            'ROOT KEY',
          ],
          dataKeys.map((k) => [
            k.tenant_id,
            k.version,
            k.state,
            k.token_sets,
            k.connector_secrets,
            k.user_secrets,
            k.mfa_factors,
            k.webhook_endpoints,
            k.audit_digests,
            k.root_key_id,
          ]),
        ),
      ].join('\n'),
    )
    return EXIT.done
  })
}

export async function keysRotate({
  tenant: tenantId,
  all,
  format,
}: {
  tenant?: string
  all: boolean
  format: OutputFormat
}): Promise<number> {
  if ((tenantId === undefined) === !all) throw new UsageError('name one tenant (--tenant T) or all of them (--all)')
  const output = createOutput(format)
  return withRuntime(async ({ database, keyProvider }) => {
    const tenants = tenantId !== undefined ? [tenantId] : await inOperatorTransaction(database.db, (trx) => tenantIds(trx))
    const rotated: RotationResult[] = []
    for (const tenant of tenants) {
      const result = await rotateDataKey(database.db, keyProvider, tenant)
      if (result === undefined && tenantId !== undefined) {
        process.stderr.write(`secret-vault: tenant ${tenant} has no data key yet\n`)
        return EXIT.refused
      }
      if (result !== undefined) rotated.push(result)
    }
    output.result({ rotated }, () =>
      rotated.length === 0
        ? 'no tenant has a data key yet'
        : rotated.map((r) => `${r.tenantId}: data key v${r.from} → v${r.to} (v${r.from} is now decrypt-only)`).join('\n'),
    )
    return EXIT.done
  })
}

export async function keysReencrypt(options: {
  tenant?: string
  batch: number
  maxRate?: number
  parallel: number
  format?: OutputFormat
}): Promise<number> {
  // A progress bar on a terminal; off a terminal (a job, a pipe) every line is JSON unless asked otherwise.
  const output = createOutput(options.format ?? (process.stdout.isTTY === true ? 'table' : 'json'))
  const progress = output.progress('token sets and secrets')
  const abort = new AbortController()
  const stop = () => abort.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return withRuntime(async ({ database, keyRing }) => {
    const result = await reencryptTokenSets(database.db, keyRing, {
      tenantId: options.tenant,
      batchSize: options.batch,
      maxRate: options.maxRate,
      parallelism: options.parallel,
      signal: abort.signal,
      onProgress: ({ done, total, ratePerSecond }) => progress.update(done, total, { ratePerSecond }),
    })
    progress.stop()
    output.result({ event: 'done', ...result }, () =>
      result.interrupted
        ? `interrupted after ${result.done} token sets and secrets; ${result.remaining} left — run the command again to resume`
        : `re-encrypted ${result.done} token sets and secrets; ${result.remaining} left on older keys`,
    )
    if (result.interrupted) return EXIT.interrupted
    return result.remaining === 0 ? EXIT.done : EXIT.refused
  })
}

export async function keysDestroy({
  tenant: tenantId,
  version,
  format,
}: {
  tenant: string
  version: number
  format: OutputFormat
}): Promise<number> {
  const output = createOutput(format)
  return withRuntime(async ({ database }) => {
    const outcome = await destroyDataKey(database.db, tenantId, version)
    const messages = {
      not_found: `tenant ${tenantId} has no data key v${version}`,
      active: `v${version} is the active data key of ${tenantId}: rotate first (keys rotate --tenant ${tenantId})`,
      in_use: `v${version} still protects secrets of ${tenantId}: run keys reencrypt --tenant ${tenantId} first`,
    }
    output.result(outcome, () =>
      outcome.destroyed
        ? `destroyed data key v${version} of ${tenantId}`
        : `refused: ${messages[outcome.reason]}${outcome.reason === 'in_use' ? ` (${outcome.tokenSets} token sets, ${outcome.connectorSecrets} connector client secrets, ${outcome.userSecrets} user secrets, ${outcome.mfaFactors} MFA factors, ${outcome.webhookEndpoints} webhook endpoints, ${outcome.auditDigests} audit digests, ${outcome.queuedRevocations} queued revocations)` : ''}`,
    )
    return outcome.destroyed ? EXIT.done : EXIT.refused
  })
}

export async function keysRotateRoot(options: { to?: string; dryRun: boolean; format: OutputFormat }): Promise<number> {
  const output = createOutput(options.format)
  return withRuntime(async ({ database, keyProvider }) => {
    const to = options.to ?? keyProvider.activeRootKeyId
    const progress = output.progress('data keys')
    const result = await rotateRootKey(database.db, keyProvider, {
      to,
      dryRun: options.dryRun,
      onProgress: (done, total) => progress.update(done, total),
    })
    progress.stop()
    output.result({ to, ...result }, () =>
      result.dryRun
        ? `${result.toRewrap} data keys would be re-wrapped under ${to}`
        : `re-wrapped ${result.rewrapped} data keys under ${to}; no token set was touched`,
    )
    return EXIT.done
  })
}

export async function tenantsShred(tenantId: string, { yes, format }: { yes: boolean; format: OutputFormat }): Promise<number> {
  if (!yes) throw new UsageError(`shredding destroys every secret of ${tenantId} for good: add --yes to confirm`)
  const output = createOutput(format)
  return withRuntime(async ({ database, keyRing }) => {
    const result = await shredTenant(database.db, tenantId)
    keyRing.forgetTenant(tenantId)
    output.result(
      { tenant_id: tenantId, ...result },
      () =>
        `shredded ${tenantId}: ${result.tokenSets} token sets, ${result.connectorSettings} connector settings, ${result.userSecrets} user secrets, ${result.mfaFactors} MFA factors, ${result.webhookEndpoints} webhook endpoints, ${result.auditDigests} audit digests and ${result.dataKeys} data keys removed; nothing of it can be decrypted any more`,
    )
    return EXIT.done
  })
}

export async function verify({
  tenant: tenantId,
  sample,
  format,
}: {
  tenant?: string
  sample?: number
  format: OutputFormat
}): Promise<number> {
  const output = createOutput(format)
  return withRuntime(async ({ database, keyRing }) => {
    const result = await verifyTokenSets(database.db, keyRing, { tenantId, sample })
    output.result(result, () =>
      result.failures.length === 0
        ? `verified ${result.checked} token sets, ${result.connectors_checked} connector secrets, ${result.user_secrets_checked} user secrets, ${result.mfa_factors_checked} MFA factors, ${result.webhook_endpoints_checked} webhook endpoints and ${result.audit_digests_checked} audit digests: every secret opens`
        : [
            `${result.failures.length} integrity failure(s) in ${result.checked} token sets, ${result.connectors_checked} connector secrets, ${result.user_secrets_checked} user secrets, ${result.mfa_factors_checked} MFA factors, ${result.webhook_endpoints_checked} webhook endpoints and ${result.audit_digests_checked} audit digests:`,
            table(
              ['TENANT', 'RECORD', 'FIELD', 'CODE'],
              result.failures.map((f) => [f.tenant_id, f.token_set_id, f.field, f.code]),
            ),
          ].join('\n'),
    )
    return result.failures.length === 0 ? EXIT.done : EXIT.refused
  })
}
