import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from './config.ts'
import { createLogger } from './logger.ts'
import { openRuntime } from './runtime.ts'

const USAGE = `usage: secret-vault <command>

commands:
  migrate     apply pending database migrations (run as the tables' owner)
  help        show this text

Configuration comes from the same environment variables as the service (see README.md).`

type Command = (args: string[]) => Promise<number>

const commands: Record<string, Command> = {
  async migrate(args) {
    parseArgs({ args, options: {}, strict: true })
    const config = loadConfig(process.env)
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel)
    const runtime = await openRuntime(config, logger, { migrate: true })
    await runtime.close()
    process.stdout.write('migrations: up to date\n')
    return 0
  },
  async help() {
    process.stdout.write(`${USAGE}\n`)
    return 0
  },
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  const command = name === undefined ? undefined : commands[name]
  if (command === undefined) {
    process.stderr.write(`${name === undefined ? 'missing command' : `unknown command: ${name}`}\n${USAGE}\n`)
    return 2
  }
  return command(args)
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof ConfigError || error instanceof TypeError ? error.message : String(error)
    process.stderr.write(`secret-vault: ${message}\n`)
    process.exit(1)
  },
)
