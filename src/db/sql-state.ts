/** The PostgreSQL error conditions the service reacts to, by SQLSTATE (PGlite reports the same codes). */
export const SQL_STATE = {
  /** A lock wait ran past lock_timeout. */
  lockNotAvailable: '55P03',
  /** The server broke a lock cycle by rolling this transaction back. */
  deadlockDetected: '40P01',
} as const

/** Whether `error` is a database error with this SQLSTATE. */
export function hasSqlState(error: unknown, state: (typeof SQL_STATE)[keyof typeof SQL_STATE]): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === state
}
