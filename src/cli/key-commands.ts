import { parseArgs } from 'node:util'
import { z } from 'zod'
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
import { tenantIdSchema } from '../schemas/ids.ts'
import { bar, createOutput, table } from './output.ts'

/** Wrong command-line use: exit code 2. */
export class UsageError extends Error {}

async function withRuntime<T>(work: (runtime: Runtime) => Promise<T>): Promise<T> {
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

function tenantOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!tenantIdSchema.safeParse(value).success) throw new UsageError(`not a valid tenant id: ${value}`)
  return value
}

function positiveInteger(name: string, value: string | undefined, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback
  const parsed = z.coerce.number().int().positive().safeParse(value)
  if (!parsed.success) throw new UsageError(`--${name} must be a positive integer`)
  return parsed.data
}

export async function keysCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  switch (sub) {
    case 'status':
      return keysStatus(rest)
    case 'rotate':
      return keysRotate(rest)
    case 'reencrypt':
      return keysReencrypt(rest)
    case 'destroy':
      return keysDestroy(rest)
    case 'rotate-root':
      return keysRotateRoot(rest)
    default:
      throw new UsageError(`usage: keys status|rotate|reencrypt|destroy|rotate-root (got ${sub ?? 'nothing'})`)
  }
}

async function keysStatus(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { json: { type: 'boolean', default: false }, tenant: { type: 'string' } } })
  const tenantId = tenantOption(values.tenant)
  const output = createOutput(values.json)
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
          ['TENANT', 'VERSION', 'STATE', 'TOKEN SETS', 'CONNECTORS', 'USER SECRETS', 'MFA FACTORS', 'ROOT KEY'],
          dataKeys.map((k) => [
            k.tenant_id,
            k.version,
            k.state,
            k.token_sets,
            k.connector_secrets,
            k.user_secrets,
            k.mfa_factors,
            k.root_key_id,
          ]),
        ),
      ].join('\n'),
    )
    return 0
  })
}

async function keysRotate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { tenant: { type: 'string' }, all: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  })
  const tenantId = tenantOption(values.tenant)
  if ((tenantId === undefined) === !values.all) throw new UsageError('usage: keys rotate (--tenant T | --all)')
  const output = createOutput(values.json)
  return withRuntime(async ({ database, keyProvider }) => {
    const tenants = tenantId !== undefined ? [tenantId] : await inOperatorTransaction(database.db, (trx) => tenantIds(trx))
    const rotated: RotationResult[] = []
    for (const tenant of tenants) {
      const result = await rotateDataKey(database.db, keyProvider, tenant)
      if (result === undefined && tenantId !== undefined) {
        process.stderr.write(`secret-vault: tenant ${tenant} has no data key yet\n`)
        return 1
      }
      if (result !== undefined) rotated.push(result)
    }
    output.result({ rotated }, () =>
      rotated.length === 0
        ? 'no tenant has a data key yet'
        : rotated.map((r) => `${r.tenantId}: data key v${r.from} → v${r.to} (v${r.from} is now decrypt-only)`).join('\n'),
    )
    return 0
  })
}

async function keysReencrypt(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      tenant: { type: 'string' },
      batch: { type: 'string' },
      'max-rate': { type: 'string' },
      parallel: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const tenantId = tenantOption(values.tenant)
  const batchSize = positiveInteger('batch', values.batch, 500)!
  const maxRate = positiveInteger('max-rate', values['max-rate'], undefined)
  const parallelism = positiveInteger('parallel', values.parallel, 4)!
  // A progress bar on a terminal; off a terminal (a job, a pipe) every line is JSON.
  const output = createOutput(values.json || process.stdout.isTTY !== true)
  const abort = new AbortController()
  const stop = () => abort.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return withRuntime(async ({ database, keyRing }) => {
    const result = await reencryptTokenSets(database.db, keyRing, {
      tenantId,
      batchSize,
      maxRate,
      parallelism,
      signal: abort.signal,
      onProgress: ({ done, total, ratePerSecond }) =>
        output.progress({ done, total, rate_per_second: Math.round(ratePerSecond) }, () => {
          const eta = ratePerSecond > 0 ? Math.ceil((total - done) / ratePerSecond) : 0
          return `${bar(done, total)} ${done}/${total} token sets  ${Math.round(ratePerSecond)}/s  ETA ${eta}s`
        }),
    })
    output.endProgress()
    output.result({ event: 'done', ...result }, () =>
      result.interrupted
        ? `interrupted after ${result.done} token sets; ${result.remaining} left — run the command again to resume`
        : `re-encrypted ${result.done} token sets; ${result.remaining} left on older keys`,
    )
    if (result.interrupted) return 130
    return result.remaining === 0 ? 0 : 1
  })
}

async function keysDestroy(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { tenant: { type: 'string' }, version: { type: 'string' }, json: { type: 'boolean', default: false } },
  })
  const tenantId = tenantOption(values.tenant)
  const version = positiveInteger('version', values.version, undefined)
  if (tenantId === undefined || version === undefined) throw new UsageError('usage: keys destroy --tenant T --version V')
  const output = createOutput(values.json)
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
        : `refused: ${messages[outcome.reason]}${outcome.reason === 'in_use' ? ` (${outcome.tokenSets} token sets, ${outcome.connectorSecrets} connector client secrets, ${outcome.userSecrets} user secrets, ${outcome.mfaFactors} MFA factors)` : ''}`,
    )
    return outcome.destroyed ? 0 : 1
  })
}

async function keysRotateRoot(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { to: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  })
  const output = createOutput(values.json)
  return withRuntime(async ({ database, keyProvider }) => {
    const to = values.to ?? keyProvider.activeRootKeyId
    const result = await rotateRootKey(database.db, keyProvider, {
      to,
      dryRun: values['dry-run'],
      onProgress: (done, total) => output.progress({ done, total }, () => `${bar(done, total)} ${done}/${total} data keys`),
    })
    output.endProgress()
    output.result({ to, ...result }, () =>
      result.dryRun
        ? `${result.toRewrap} data keys would be re-wrapped under ${to}`
        : `re-wrapped ${result.rewrapped} data keys under ${to}; no token set was touched`,
    )
    return 0
  })
}

export async function tenantsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'shred') throw new UsageError('usage: tenants shred T --yes')
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: { yes: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  })
  const tenantId = tenantOption(positionals[0])
  if (tenantId === undefined || positionals.length !== 1) throw new UsageError('usage: tenants shred T --yes')
  if (!values.yes) throw new UsageError(`shredding destroys every secret of ${tenantId} for good: add --yes to confirm`)
  const output = createOutput(values.json)
  return withRuntime(async ({ database, keyRing }) => {
    const result = await shredTenant(database.db, tenantId)
    keyRing.forgetTenant(tenantId)
    output.result(
      { tenant_id: tenantId, ...result },
      () =>
        `shredded ${tenantId}: ${result.tokenSets} token sets, ${result.connectorSettings} connector settings, ${result.userSecrets} user secrets, ${result.mfaFactors} MFA factors and ${result.dataKeys} data keys removed; nothing of it can be decrypted any more`,
    )
    return 0
  })
}

export async function verifyCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { tenant: { type: 'string' }, sample: { type: 'string' }, json: { type: 'boolean', default: false } },
  })
  const tenantId = tenantOption(values.tenant)
  const sample = positiveInteger('sample', values.sample, undefined)
  const output = createOutput(values.json)
  return withRuntime(async ({ database, keyRing }) => {
    const result = await verifyTokenSets(database.db, keyRing, { tenantId, sample })
    output.result(result, () =>
      result.failures.length === 0
        ? `verified ${result.checked} token sets, ${result.connectors_checked} connector secrets, ${result.user_secrets_checked} user secrets and ${result.mfa_factors_checked} MFA factors: every secret opens`
        : [
            `${result.failures.length} integrity failure(s) in ${result.checked} token sets, ${result.connectors_checked} connector secrets, ${result.user_secrets_checked} user secrets and ${result.mfa_factors_checked} MFA factors:`,
            table(
              ['TENANT', 'RECORD', 'FIELD', 'CODE'],
              result.failures.map((f) => [f.tenant_id, f.token_set_id, f.field, f.code]),
            ),
          ].join('\n'),
    )
    return result.failures.length === 0 ? 0 : 1
  })
}
