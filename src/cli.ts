import { UsageError } from './cli/key-commands.ts'
import { runCommandLine } from './cli/program.ts'
import { ConfigError } from './config.ts'
import { VaultError } from './errors.ts'

/** The operator CLI (bin/secret-vault): `secret-vault --help` lists the commands, each has its own --help. */
runCommandLine(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`secret-vault: ${error.message}\n`)
      process.exit(2)
    }
    const message =
      error instanceof ConfigError || error instanceof VaultError || error instanceof TypeError ? error.message : String(error)
    process.stderr.write(`secret-vault: ${message}\n`)
    process.exit(1)
  },
)
