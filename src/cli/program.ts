import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { tenantIdSchema } from '../schemas/ids.ts'
import { SERVICE_VERSION } from '../version.ts'
import { auditDigests, auditExport, auditExportAll, auditRetention, auditVerify } from './audit-commands.ts'
import {
  EXIT,
  keysDestroy,
  keysReencrypt,
  keysRotate,
  keysRotateRoot,
  keysStatus,
  tenantsShred,
  UsageError,
  verify,
} from './key-commands.ts'
import type { OutputFormat } from './output.ts'
import { dbBootstrap, migrate, tokenMint } from './setup-commands.ts'

/**
 * The operator CLI's commands, options and help, on commander: `--help` on every command (with examples),
 * `--version`, a suggestion on a typo, and one output switch, `--format table|json`. Usage errors exit 2;
 * the commands themselves (key-commands.ts, setup-commands.ts) say 0, 1 or 130.
 */
const EXIT_CODES = `
Exit codes:
  0    done
  1    refused or failed (a key still in use, integrity failures found, re-encryption left work)
  2    wrong usage (unknown command or option, a missing or invalid argument)
  130  interrupted (Ctrl-C or SIGTERM); run the command again to resume

Configuration comes from the same environment variables as the service (README.md, "Configuration").`

const examples = (...lines: string[]) => `\nExamples:\n${lines.map((line) => `  $ secret-vault ${line}`).join('\n')}`

function tenantId(value: string): string {
  if (!tenantIdSchema.safeParse(value).success) throw new InvalidArgumentError('not a valid tenant id')
  return value
}

function positiveInteger(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError('must be a positive integer')
  return Number(value)
}

function auditId(value: string): string {
  if (!/^[1-9][0-9]{0,18}$/.test(value)) throw new InvalidArgumentError('must be an audit event id (a positive integer)')
  return value
}

function settleSeconds(value: string): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 3600) throw new InvalidArgumentError('must be 0..3600 seconds')
  return Number(value)
}

function retentionDays(value: string): number {
  const days = positiveInteger(value)
  if (days < 30) throw new InvalidArgumentError('must be at least 30 days: the trail is what an investigation starts from')
  return days
}

function ttlSeconds(value: string): number {
  const seconds = positiveInteger(value)
  if (seconds > 86_400) throw new InvalidArgumentError('must be 1..86400 seconds')
  return seconds
}

const collect = (value: string, previous: string[] = []) => [...previous, value]

/** `--format table|json` (and `--json`, kept for scripts written before it). */
function withFormat(command: Command, fallback: OutputFormat | 'by terminal' = 'table'): Command {
  const format = new Option('--format <format>', 'output: a table for people, JSON for machines').choices(['table', 'json'])
  return command
    .addOption(fallback === 'by terminal' ? format : format.default(fallback))
    .addOption(new Option('--json', 'the same as --format json').hideHelp())
}

const formatOf = (options: { format?: OutputFormat; json?: boolean }) => (options.json === true ? 'json' : options.format)

/** Runs the CLI with `argv` (without node and the script) and answers its exit code. */
export async function runCommandLine(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.done
  const run = (work: Promise<number>) =>
    work.then((code) => {
      exitCode = code
    })

  const program = new Command('secret-vault')
    .description('Operator commands for secret-vault: database setup, key lifecycle, verification.')
    .version(SERVICE_VERSION, '-V, --version', 'print the version')
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .exitOverride()
    .addHelpText('after', EXIT_CODES)

  program
    .command('migrate')
    .description("apply pending database migrations (as the tables' owner; needs only DATABASE_URL)")
    .addHelpText('after', examples('migrate', 'migrate   # with DATABASE_URL=postgres://owner@db/vault'))
    .action(() => run(migrate()))

  program
    .command('db')
    .description('database administration')
    .command('bootstrap')
    .description(
      'create the roles secret_vault_app and secret_vault_operator if missing, and make the named logins members (an administrator, once per cluster)',
    )
    .option('--app-login <login>', 'a login the service connects as (repeatable)', collect, [])
    .option('--operator-login <login>', 'a login operators run these commands as (repeatable)', collect, [])
    .addHelpText('after', examples('db bootstrap --app-login vault_app --operator-login vault_operator'))
    .action((options) => run(dbBootstrap(options)))

  program
    .command('token')
    .description('development tokens')
    .command('mint')
    .description('print a short-lived access token from the embedded development issuer (not with an external issuer)')
    .option('--scope <scope>', 'a scope to grant (repeatable; default: every scope)', collect)
    .option('--tenant <id>', 'bind the token to a tenant (repeatable; default: no binding)', collect, [])
    .option('--client-id <id>', 'the client id the token names', 'dev-cli')
    .option('--ttl <seconds>', 'lifetime, 1..86400', ttlSeconds, 3600)
    .addHelpText('after', examples('token mint', 'token mint --scope token_sets:read --tenant acme --ttl 600'))
    .action((options) => run(tokenMint(options)))

  const keys = program.command('keys').description("tenants' data keys and the root keys that wrap them")
  withFormat(
    keys
      .command('status')
      .description('root keys and every data-key version: its state and what it protects')
      .option('--tenant <id>', 'one tenant only', tenantId)
      .addHelpText('after', examples('keys status', 'keys status --tenant acme --format json')),
  ).action((options) => run(keysStatus({ ...options, format: formatOf(options) })))
  withFormat(
    keys
      .command('rotate')
      .description('a new active data-key version; the old one becomes decrypt-only (nothing is re-encrypted)')
      .option('--tenant <id>', 'the tenant to rotate', tenantId)
      .option('--all', 'every tenant', false)
      .addHelpText('after', examples('keys rotate --tenant acme', 'keys rotate --all')),
  ).action((options) => run(keysRotate({ ...options, format: formatOf(options) })))
  withFormat(
    keys
      .command('reencrypt')
      .description("move token sets and every other secret to their tenant's active data key: batched, resumable, idempotent")
      .option('--tenant <id>', 'one tenant only', tenantId)
      .option('--batch <n>', 'rows per transaction', positiveInteger, 500)
      .option('--max-rate <n>', 'at most this many rows a second', positiveInteger)
      .option('--parallel <n>', 'tenant key versions moved at once', positiveInteger, 4)
      .addHelpText(
        'after',
        `${examples('keys reencrypt --tenant acme', 'keys reencrypt --max-rate 2000 --format json')}\n\nWithout --format: a progress bar on a terminal, JSON lines otherwise (a Job, a pipe).`,
      ),
    'by terminal',
  ).action((options) => run(keysReencrypt({ ...options, format: formatOf(options) })))
  withFormat(
    keys
      .command('destroy')
      .description('destroy a decrypt-only data-key version that no secret uses any more')
      .requiredOption('--tenant <id>', 'the tenant', tenantId)
      .requiredOption('--version <n>', 'the data-key version', positiveInteger)
      .addHelpText('after', examples('keys destroy --tenant acme --version 1')),
  ).action((options) => run(keysDestroy({ ...options, format: formatOf(options) })))
  withFormat(
    keys
      .command('rotate-root')
      .description('re-wrap every data key under a root key (default: the active one); no secret is touched')
      .option('--to <key>', 'the root key id to wrap under')
      .option('--dry-run', 'count what would be re-wrapped', false)
      .addHelpText('after', examples('keys rotate-root --dry-run', 'keys rotate-root --to root-2')),
  ).action((options) => run(keysRotateRoot({ ...options, format: formatOf(options) })))

  withFormat(
    program
      .command('tenants')
      .description('whole tenants')
      .command('shred')
      .description('crypto-shred a tenant: every secret and every data key that could open them, for good')
      .argument('<tenant>', 'the tenant id', tenantId)
      .option('--yes', 'confirm', false)
      .addHelpText('after', examples('tenants shred acme --yes')),
  ).action((tenant, options) => run(tenantsShred(tenant, { ...options, format: formatOf(options) })))

  const audit = program.command('audit').description('the audit trail')
  withFormat(
    audit
      .command('retention')
      .description(
        "drop the audit trail's months that ended more than --older-than-days ago (whole months; recorded in each tenant's trail)",
      )
      .requiredOption('--older-than-days <n>', 'the retention period in days', retentionDays)
      .option('--dry-run', 'count what would be dropped', false)
      .addHelpText('after', examples('audit retention --older-than-days 400 --dry-run', 'audit retention --older-than-days 400')),
  ).action((options) => run(auditRetention({ ...options, format: formatOf(options) })))
  withFormat(
    audit
      .command('export')
      .description(
        "stream a tenant's audit events as NDJSON (stdout, or a file that a second run continues); or every tenant's, a file each",
      )
      .option('--tenant <id>', 'the tenant', tenantId)
      .option('--all-tenants', 'every tenant with events, each into DIR/<tenant>.ndjson (needs --output-dir)', false)
      .option('--output <file>', 'append to this file; if it holds events, continue after its last one')
      .option('--output-dir <dir>', 'with --all-tenants: the directory of the per-tenant files')
      .option('--after <id>', 'start after this event id (the last one a previous export wrote)', auditId)
      .option('--batch <n>', 'events per page (held in memory at once)', positiveInteger, 1000)
      .option(
        '--settle-seconds <n>',
        'only events recorded longer ago than this: no transaction that writes one is still open by then',
        settleSeconds,
        60,
      )
      .addHelpText(
        'after',
        `${examples(
          'audit export --tenant acme --output acme-audit.ndjson',
          'audit export --tenant acme --after 41822 | jq -c .',
          'audit export --all-tenants --output-dir /audit',
        )}

Events go to stdout or the file; progress and the summary to stderr (a bar on a terminal, JSON otherwise).`,
      ),
    'by terminal',
  ).action((options) => {
    if (options.allTenants === true) {
      if (options.tenant !== undefined || options.output !== undefined || options.after !== undefined || options.outputDir === undefined)
        return run(Promise.reject(new UsageError('--all-tenants takes --output-dir, and neither --tenant, --output nor --after')))
      return run(auditExportAll({ ...options, format: formatOf(options) }))
    }
    if (options.tenant === undefined || options.outputDir !== undefined)
      return run(Promise.reject(new UsageError('name a tenant (--tenant T), or every tenant (--all-tenants --output-dir DIR)')))
    return run(auditExport({ ...options, format: formatOf(options) }))
  })
  withFormat(
    audit
      .command('verify')
      .description(
        "check a tenant's audit trail against its sealed digests; report the first edit, deletion, reorder or insertion by id (exit 1)",
      )
      .requiredOption('--tenant <id>', 'the tenant', tenantId)
      .addHelpText(
        'after',
        `${examples('audit verify --tenant acme', 'audit verify --tenant acme --format json')}

Reads the whole trail in one snapshot, one digest's events at a time. Events after the last digest are
not sealed yet: the service seals every VAULT_AUDIT_SEAL_INTERVAL_SECONDS.`,
      ),
  ).action((options) => run(auditVerify({ ...options, format: formatOf(options) })))
  withFormat(
    audit
      .command('digests')
      .description("stream a tenant's audit digests as NDJSON, to keep beside an export of its events (a file that a second run continues)")
      .requiredOption('--tenant <id>', 'the tenant', tenantId)
      .option('--output <file>', 'append to this file; if it holds digests, continue after its last one')
      .addHelpText('after', examples('audit digests --tenant acme --output acme-digests.ndjson')),
    'by terminal',
  ).action((options) => run(auditDigests({ ...options, format: formatOf(options) })))

  withFormat(
    program
      .command('verify')
      .description('open every secret (or a random sample of token sets) and report integrity failures by id; exit 1 if any')
      .option('--tenant <id>', 'one tenant only', tenantId)
      .option('--sample <n>', 'a random sample of token sets', positiveInteger)
      .addHelpText('after', examples('verify', 'verify --tenant acme --sample 1000 --format json')),
  ).action((options) => run(verify({ ...options, format: formatOf(options) })))

  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (error) {
    // Help and the version are answers; every other refusal of the command line is a usage error.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.done : EXIT.usage
    throw error
  }
  return exitCode
}
