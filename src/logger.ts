import pino, { type DestinationStream, type Logger } from 'pino'
import { traceIds } from './observability/tracing.ts'

/**
 * Paths that could ever hold a secret are censored, whatever logs them. Request and reply bodies are never
 * logged in the first place; this is the second line of defence.
 */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'body',
  'req.body',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.client_secret',
  '*.token_response',
]

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: 'secret-vault' },
    // With tracing on, each line carries the trace and span it was written in.
    mixin: traceIds,
  }
  return destination === undefined ? pino(options) : pino(options, destination)
}
