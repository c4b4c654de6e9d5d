import type { Kysely } from 'kysely'
import type { AuditContext } from '../audit/audit.repository.ts'
import type { ConnectorType, DB } from '../db/schema.ts'
import { inTenantTransaction } from '../db/tenant-scope.ts'
import { VaultError } from '../errors.ts'
import type { DataKeyRing } from '../keys/data-key-ring.ts'
import { normalizeTokenResponse } from '../oauth/token-response.ts'
import { toConnection } from './connection.ts'
import { createTokenSetPusher, type PushResult } from './push-token-set.ts'
import { createAccessTokenReader, type ReadOptions } from './read-access-token.ts'
import type { TokenRefresher } from './token-refresh.ts'
import type { DeletedTokenSets, TokenSetKey } from './token-set.repository.ts'
import * as repository from './token-set.repository.ts'
import type { AccessTokenResponse, Connection, PushTokenSetBody } from './token-set.schemas.ts'

/** How far in the future a pushed issued_at may lie (clock skew between the identity core and the vault). */
const MAX_ISSUED_AT_SKEW_MS = 5 * 60 * 1000

export interface TokenSetServiceDeps {
  db: Kysely<DB>
  keyRing: DataKeyRing
  /** Without one, an expired token always needs the user to reconnect. */
  refresher?: TokenRefresher
  now?: () => Date
}

export type { PushResult, ReadOptions }

/**
 * Token sets as the API sees them. A push and a read each record their own success (token_set.push in the
 * push's transaction, token_set.read in the statement that finds the token served as stored).
 */
export interface TokenSetService {
  pushTokenSet(key: TokenSetKey, body: PushTokenSetBody, context: AuditContext): Promise<PushResult>
  readAccessToken(key: TokenSetKey, options?: ReadOptions): Promise<AccessTokenResponse>
  listConnections(tenantId: string, userId: string): Promise<Connection[]>
  deleteTokenSet(key: TokenSetKey): Promise<DeletedTokenSets>
  deleteUserTokenSets(tenantId: string, userId: string): Promise<DeletedTokenSets>
  deleteConnectorTokenSets(tenantId: string, connectorType: ConnectorType, connectorId: string): Promise<DeletedTokenSets>
}

function validateConnectorIdentity(key: TokenSetKey, body: PushTokenSetBody): void {
  if (key.connectorType === 'social' && body.target === undefined) {
    throw new VaultError('request.invalid', 'A social connection needs a target (e.g. "github")', {
      issues: [{ path: 'body.target', message: 'required for connector type social' }],
    })
  }
  if (key.connectorType === 'enterprise_sso' && body.issuer === undefined) {
    throw new VaultError('request.invalid', 'An enterprise SSO connection needs its OIDC issuer', {
      issues: [{ path: 'body.issuer', message: 'required for connector type enterprise_sso' }],
    })
  }
}

export function createTokenSetService({ db, keyRing, refresher, now = () => new Date() }: TokenSetServiceDeps): TokenSetService {
  const pusher = createTokenSetPusher({ db, keyRing })
  const reader = createAccessTokenReader({ db, keyRing, refresher, now })
  return {
    async pushTokenSet(key, body, context) {
      validateConnectorIdentity(key, body)
      const receivedAt = now()
      const issuedAt = body.issued_at === undefined ? receivedAt : new Date(body.issued_at)
      if (issuedAt.getTime() > receivedAt.getTime() + MAX_ISSUED_AT_SKEW_MS) {
        throw new VaultError('request.invalid', 'issued_at lies in the future', {
          issues: [{ path: 'body.issued_at', message: 'must not be more than 5 minutes ahead of the vault clock' }],
        })
      }
      return pusher.push(key, { body, tokens: normalizeTokenResponse(body.token_response, issuedAt), issuedAt, context })
    },

    readAccessToken: (key, options) => reader.read(key, options),

    async listConnections(tenantId, userId) {
      const rows = await inTenantTransaction(db, tenantId, (trx) => repository.listTokenSetsOfUser(trx, tenantId, userId))
      return rows.map(toConnection)
    },

    deleteTokenSet: (key) => inTenantTransaction(db, key.tenantId, (trx) => repository.deleteTokenSet(trx, key)),
    deleteUserTokenSets: (tenantId, userId) =>
      inTenantTransaction(db, tenantId, (trx) => repository.deleteTokenSetsOfUser(trx, tenantId, userId)),
    deleteConnectorTokenSets: (tenantId, connectorType, connectorId) =>
      inTenantTransaction(db, tenantId, (trx) => repository.deleteTokenSetsOfConnector(trx, tenantId, connectorType, connectorId)),
  }
}
