import { encodeBinding } from './associated-data.ts'

/** The secrets a token set holds. Each is sealed on its own, bound to its field name. */
export const SEALED_FIELDS = ['access_token', 'refresh_token', 'id_token'] as const
export type SealedField = (typeof SEALED_FIELDS)[number]

export interface TokenSecretBinding {
  tenantId: string
  userId: string
  connectorType: string
  connectorId: string
  tokenSetId: string
  field: SealedField
  keyVersion: number
}

/**
 * Associated data for one sealed token: a ciphertext copied to another row, user, connector, tenant,
 * field or data-key version no longer opens.
 */
export function tokenSecretAssociatedData(binding: TokenSecretBinding): Buffer {
  return encodeBinding('secret-vault/token-secret/v1', [
    binding.tenantId,
    binding.userId,
    binding.connectorType,
    binding.connectorId,
    binding.tokenSetId,
    binding.field,
    binding.keyVersion,
  ])
}
