import { readFileSync } from 'node:fs'

/** The service's version, as package.json states it: one home for the metric, the CLI and the logs. */
export const SERVICE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version
