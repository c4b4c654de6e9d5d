import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { MFA_FACTOR, openRecord, sealRecord } from '../crypto/record-binding.ts'
import type { DB, MfaFactorType } from '../db/schema.ts'
import { inTenantTransaction, type TenantTransaction } from '../db/tenant-scope.ts'
import { claimMfaAttempt, clearMfaAttempts } from '../db/vault-functions.ts'
import { VaultError } from '../errors.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { displayCode, generateBackupCodes, matchingIndex } from './backup-codes.ts'
import type { FactorRow, FactorWithSecret } from './mfa.repository.ts'
import * as repository from './mfa.repository.ts'
import type { BackupCodeList, Factor } from './mfa.schemas.ts'
import { enrolment, generateSeed, matchingStep, timeStep } from './totp.ts'

export interface UserKey {
  tenantId: string
  userId: string
}

export interface MfaService {
  generateTotp(
    user: UserKey,
    label: { issuer: string; accountName: string },
  ): Promise<{
    factor: Factor
    secret: string
    otpauthUri: string
    qrCodeSvg: string
  }>
  bindTotp(user: UserKey, factorId: string, code: string): Promise<Factor>
  verifyTotp(user: UserKey, code: string): Promise<Factor>
  generateBackupCodes(user: UserKey): Promise<{ factor: Factor; codes: string[] }>
  bindBackupCodes(user: UserKey, factorId: string): Promise<Factor>
  listBackupCodes(user: UserKey): Promise<BackupCodeList>
  consumeBackupCode(user: UserKey, code: string): Promise<{ factor: Factor; remaining: number }>
  listFactors(user: UserKey): Promise<Factor[]>
  deleteFactors(user: UserKey, type: MfaFactorType | undefined): Promise<number>
}

/** How long a generated factor waits to be bound. */
const ENROLMENT_TTL_MS = 10 * 60_000

const invalidCode = () => new VaultError('mfa.code_invalid', 'The code was not accepted')
const notFound = (what: string) => new VaultError('mfa.factor_not_found', what)

function toFactor(row: FactorRow, used?: number): Factor {
  return {
    id: row.id,
    type: row.type,
    state: row.state,
    key_version: row.key_version,
    created_at: row.created_at.toISOString(),
    expires_at: row.expires_at?.toISOString() ?? null,
    bound_at: row.bound_at?.toISOString() ?? null,
    last_used_at: row.last_used_at?.toISOString() ?? null,
    ...(row.type === 'backup_codes' && used !== undefined ? { codes_used: used } : {}),
  }
}

/**
 * MFA factors, verified inside the vault: a TOTP seed or a set of backup codes leaves it once, when it is
 * generated; afterwards callers present codes and learn only whether one was accepted. Every attempt is
 * counted before its code is looked at (vault_claim_mfa_attempt holds the limit and the lockout), and a
 * code is accepted at most once because its use is a row that can be inserted once.
 */
export function createMfaService({ db, keyRing, now }: { db: Kysely<DB>; keyRing: DataKeyRing; now: () => Date }): MfaService {
  const openSecret = async (factor: FactorWithSecret) =>
    openRecord(MFA_FACTOR, await keyRing.unwrap(factor.dataKey), factor, factor.key_version, factor.secret_sealed)

  async function generate(user: UserKey, type: MfaFactorType, secret: Buffer): Promise<FactorRow> {
    return inTenantTransaction(db, user.tenantId, async (trx) => {
      const active = await keyRing.activeKey(trx, user.tenantId)
      const factor = {
        tenant_id: user.tenantId,
        id: randomUUID(),
        user_id: user.userId,
        type,
        state: 'pending' as const,
        expires_at: new Date(now().getTime() + ENROLMENT_TTL_MS),
        key_version: active.version,
      }
      return repository.insertPendingFactor(trx, {
        ...factor,
        secret_sealed: sealRecord(MFA_FACTOR, active.key, factor, active.version, secret),
      })
    })
  }

  /** Re-sealed as bound (state and expiry are bound into the seal), replacing the user's bound factor of its type. */
  async function bind(trx: TenantTransaction, pending: FactorWithSecret, secret: Buffer, at: Date): Promise<FactorRow> {
    const bound = { ...pending, state: 'bound' as const, expires_at: null }
    const key = await keyRing.unwrap(pending.dataKey)
    return repository.bindFactor(trx, pending, sealRecord(MFA_FACTOR, key, bound, pending.key_version, secret), at)
  }

  /**
   * Counts the attempt in a transaction of its own, so that it stands whatever happens next, then runs
   * `check`; the count starts again only when `check` accepts a code (in check's own transaction).
   */
  async function attempt<T>(user: UserKey, check: (trx: TenantTransaction, at: Date) => Promise<T>): Promise<T> {
    const at = now()
    const claim = await inTenantTransaction(db, user.tenantId, (trx) => claimMfaAttempt(trx, user.tenantId, user.userId, at))
    if (!claim.allowed) {
      throw new VaultError('mfa.locked', 'Too many codes in a row were not accepted; try again later', {
        retryAfterSeconds: Math.max(1, Math.ceil((claim.lockedUntil.getTime() - at.getTime()) / 1000)),
      })
    }
    return inTenantTransaction(db, user.tenantId, async (trx) => {
      const accepted = await check(trx, at)
      await clearMfaAttempts(trx, user.tenantId, user.userId)
      return accepted
    })
  }

  return {
    async generateTotp(user, label) {
      const seed = generateSeed()
      try {
        const factor = await generate(user, 'totp', seed)
        return { factor: toFactor(factor), ...enrolment(seed, label.issuer, label.accountName) }
      } finally {
        seed.fill(0)
      }
    },

    bindTotp: (user, factorId, code) =>
      attempt(user, async (trx, at) => {
        const pending = await repository.lockFactor(trx, { ...user, type: 'totp', state: 'pending', id: factorId })
        if (pending === undefined || pending.expires_at!.getTime() <= at.getTime()) {
          throw notFound('No pending TOTP enrolment of this id: it expired or was replaced; generate again')
        }
        const seed = await openSecret(pending)
        try {
          const step = matchingStep(seed, code, at)
          if (step === null) throw invalidCode()
          const bound = await bind(trx, pending, seed, at)
          await repository.recordUse(trx, bound, step, at)
          return toFactor({ ...bound, last_used_at: at })
        } finally {
          seed.fill(0)
        }
      }),

    verifyTotp: (user, code) =>
      attempt(user, async (trx, at) => {
        const factor = await repository.lockFactor(trx, { ...user, type: 'totp', state: 'bound' })
        if (factor === undefined) throw notFound('The user has no bound TOTP factor')
        const seed = await openSecret(factor)
        try {
          const step = matchingStep(seed, code, at)
          if (step === null || !(await repository.recordUse(trx, factor, step, at))) throw invalidCode()
          await repository.forgetStepsBefore(trx, factor, timeStep(at) - 1)
          return toFactor({ ...factor, last_used_at: at })
        } finally {
          seed.fill(0)
        }
      }),

    async generateBackupCodes(user) {
      const codes = generateBackupCodes()
      const factor = await generate(user, 'backup_codes', Buffer.from(JSON.stringify(codes), 'utf8'))
      return { factor: toFactor(factor, 0), codes: codes.map(displayCode) }
    },

    bindBackupCodes: (user, factorId) =>
      inTenantTransaction(db, user.tenantId, async (trx) => {
        const at = now()
        const pending = await repository.lockFactor(trx, { ...user, type: 'backup_codes', state: 'pending', id: factorId })
        if (pending === undefined || pending.expires_at!.getTime() <= at.getTime()) {
          throw notFound('No pending backup codes of this id: they expired or were replaced; generate again')
        }
        return toFactor(await bind(trx, pending, await openSecret(pending), at), 0)
      }),

    listBackupCodes: (user) =>
      inTenantTransaction(db, user.tenantId, async (trx) => {
        const factor = await repository.lockFactor(trx, { ...user, type: 'backup_codes', state: 'bound' })
        if (factor === undefined) throw notFound('The user has no bound backup codes')
        const codes = JSON.parse((await openSecret(factor)).toString('utf8')) as string[]
        const uses = await repository.usesOf(trx, factor)
        return {
          factor: toFactor(factor, uses.size),
          codes: codes.map((code, index) => ({ code: displayCode(code), used_at: uses.get(index)?.toISOString() ?? null })),
        }
      }),

    consumeBackupCode: (user, code) =>
      attempt(user, async (trx, at) => {
        const factor = await repository.lockFactor(trx, { ...user, type: 'backup_codes', state: 'bound' })
        if (factor === undefined) throw notFound('The user has no bound backup codes')
        const codes = JSON.parse((await openSecret(factor)).toString('utf8')) as string[]
        const index = matchingIndex(codes, code)
        if (index === null || !(await repository.recordUse(trx, factor, index, at))) throw invalidCode()
        const used = (await repository.usesOf(trx, factor)).size
        return { factor: toFactor({ ...factor, last_used_at: at }, used), remaining: codes.length - used }
      }),

    listFactors: async (user) =>
      (await inTenantTransaction(db, user.tenantId, (trx) => repository.listFactors(trx, user.tenantId, user.userId))).map((row) =>
        toFactor(row, row.used),
      ),

    deleteFactors: (user, type) =>
      inTenantTransaction(db, user.tenantId, (trx) => repository.deleteFactors(trx, user.tenantId, user.userId, type)),
  }
}
