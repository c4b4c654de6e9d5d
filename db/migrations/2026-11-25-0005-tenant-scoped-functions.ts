import { sql, type Kysely } from 'kysely'

// Frozen in time: this file never imports application code.
//
// The hot paths as tenant-scoped functions, so each is one statement — one round trip, no explicit
// transaction — instead of BEGIN, set_config, the work and COMMIT. Each function first takes the service
// role and the tenant, transaction-locally, exactly as a tenant transaction does; every statement after
// that is planned and checked as the service role, so row-level security binds it. SECURITY INVOKER (the
// default): a caller gains nothing it could not do with the same statements itself.

export async function up(db: Kysely<any>): Promise<void> {
  // A read: the sealed access token with the wrapped data key that opens it.
  await sql`
    CREATE FUNCTION vault_read_token_set(p_tenant_id text, p_user_id text, p_connector_type text, p_connector_id text)
    RETURNS TABLE (
      id uuid, token_type text, scope text, expires_at timestamptz, issued_at timestamptz, state text,
      key_version integer, access_token_sealed bytea, has_refresh_token boolean, root_key_id text, wrapped_key bytea
    )
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    AS $$
    BEGIN
      PERFORM set_config('role', 'secret_vault_app', true), set_config('vault.tenant_id', p_tenant_id, true);
      RETURN QUERY
        SELECT ts.id, ts.token_type, ts.scope, ts.expires_at, ts.issued_at, ts.state, ts.key_version,
               ts.access_token_sealed, ts.refresh_token_sealed IS NOT NULL, dk.root_key_id, dk.wrapped_key
        FROM token_sets ts
        JOIN data_keys dk ON dk.tenant_id = ts.tenant_id AND dk.version = ts.key_version
        WHERE ts.tenant_id = p_tenant_id AND ts.user_id = p_user_id
          AND ts.connector_type = p_connector_type AND ts.connector_id = p_connector_id;
    END
    $$`.execute(db)

  // A push, step one: the tenant's active data key (wrapped) and what is stored for the connection. No
  // row: the tenant has no active data key yet, which the full transactional path creates.
  await sql`
    CREATE FUNCTION vault_prepare_push(p_tenant_id text, p_user_id text, p_connector_type text, p_connector_id text)
    RETURNS TABLE (
      active_version integer, root_key_id text, wrapped_key bytea,
      existing_id uuid, existing_key_version integer, existing_issued_at timestamptz, existing_has_refresh_token boolean
    )
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    AS $$
    BEGIN
      PERFORM set_config('role', 'secret_vault_app', true), set_config('vault.tenant_id', p_tenant_id, true);
      RETURN QUERY
        SELECT dk.version, dk.root_key_id, dk.wrapped_key, ts.id, ts.key_version, ts.issued_at, ts.refresh_token_sealed IS NOT NULL
        FROM data_keys dk
        LEFT JOIN token_sets ts ON ts.tenant_id = dk.tenant_id AND ts.user_id = p_user_id
          AND ts.connector_type = p_connector_type AND ts.connector_id = p_connector_id
        WHERE dk.tenant_id = p_tenant_id AND dk.state = 'active';
    END
    $$`.execute(db)

  // A push, step two: compare-and-swap on what step one saw. Inserts only if the connection is still new,
  // updates only the row step one found, only if this push is not older than it, and keeps the stored
  // refresh token only if it is sealed under the version this push writes. Anything else returns no row
  // and the caller takes the full transactional path, which locks, re-reads and re-seals.
  await sql`
    CREATE FUNCTION vault_write_pushed_token_set(
      p_tenant_id text, p_user_id text, p_connector_type text, p_connector_id text, p_id uuid, p_is_new boolean,
      p_target text, p_issuer text, p_provider_subject text, p_token_type text, p_scope text,
      p_expires_at timestamptz, p_issued_at timestamptz, p_key_version integer,
      p_access_token bytea, p_refresh_token bytea, p_id_token bytea
    )
    RETURNS TABLE (
      outcome text, id uuid, tenant_id text, user_id text, connector_type text, connector_id text, target text,
      issuer text, provider_subject text, token_type text, scope text, expires_at timestamptz, state text,
      key_version integer, issued_at timestamptz, created_at timestamptz, updated_at timestamptz,
      has_refresh_token boolean, has_id_token boolean
    )
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    AS $$
    BEGIN
      PERFORM set_config('role', 'secret_vault_app', true), set_config('vault.tenant_id', p_tenant_id, true);
      IF p_is_new THEN
        RETURN QUERY
          INSERT INTO token_sets AS ts (tenant_id, id, user_id, connector_type, connector_id, target, issuer, provider_subject,
            token_type, scope, expires_at, issued_at, state, key_version, access_token_sealed, refresh_token_sealed, id_token_sealed)
          VALUES (p_tenant_id, p_id, p_user_id, p_connector_type, p_connector_id, p_target, p_issuer, p_provider_subject,
            p_token_type, p_scope, p_expires_at, p_issued_at, 'active', p_key_version, p_access_token, p_refresh_token, p_id_token)
          ON CONFLICT ON CONSTRAINT token_sets_user_connector_key DO NOTHING
          RETURNING 'created'::text, ts.id, ts.tenant_id, ts.user_id, ts.connector_type, ts.connector_id, ts.target, ts.issuer,
            ts.provider_subject, ts.token_type, ts.scope, ts.expires_at, ts.state, ts.key_version, ts.issued_at, ts.created_at,
            ts.updated_at, ts.refresh_token_sealed IS NOT NULL, ts.id_token_sealed IS NOT NULL;
        RETURN;
      END IF;
      RETURN QUERY
        UPDATE token_sets AS ts SET
          target = p_target, issuer = p_issuer, provider_subject = p_provider_subject, token_type = p_token_type,
          scope = p_scope, expires_at = p_expires_at, issued_at = p_issued_at, state = 'active', key_version = p_key_version,
          access_token_sealed = p_access_token, refresh_token_sealed = coalesce(p_refresh_token, ts.refresh_token_sealed),
          id_token_sealed = p_id_token, updated_at = now()
        WHERE ts.tenant_id = p_tenant_id AND ts.id = p_id AND ts.issued_at <= p_issued_at
          AND (p_refresh_token IS NOT NULL OR ts.refresh_token_sealed IS NULL OR ts.key_version = p_key_version)
        RETURNING 'updated'::text, ts.id, ts.tenant_id, ts.user_id, ts.connector_type, ts.connector_id, ts.target, ts.issuer,
          ts.provider_subject, ts.token_type, ts.scope, ts.expires_at, ts.state, ts.key_version, ts.issued_at, ts.created_at,
          ts.updated_at, ts.refresh_token_sealed IS NOT NULL, ts.id_token_sealed IS NOT NULL;
      IF FOUND THEN RETURN; END IF;
      -- Not updated: either the stored set was issued later (the push changes nothing), or the row changed.
      RETURN QUERY
        SELECT 'ignored_stale'::text, ts.id, ts.tenant_id, ts.user_id, ts.connector_type, ts.connector_id, ts.target, ts.issuer,
          ts.provider_subject, ts.token_type, ts.scope, ts.expires_at, ts.state, ts.key_version, ts.issued_at, ts.created_at,
          ts.updated_at, ts.refresh_token_sealed IS NOT NULL, ts.id_token_sealed IS NOT NULL
        FROM token_sets ts
        WHERE ts.tenant_id = p_tenant_id AND ts.id = p_id AND ts.issued_at > p_issued_at;
    END
    $$`.execute(db)

  // Audit events of many requests (and tenants) in one statement: each tenant's rows are inserted under
  // that tenant's setting, so the policy's WITH CHECK holds row by row.
  await sql`
    CREATE FUNCTION vault_insert_audit_events(
      p_tenant_ids text[], p_client_ids text[], p_actions text[], p_outcomes text[], p_error_codes text[],
      p_user_ids text[], p_connector_types text[], p_connector_ids text[], p_request_ids text[], p_key_versions integer[]
    )
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
    AS $$
    DECLARE
      t text;
    BEGIN
      PERFORM set_config('role', 'secret_vault_app', true);
      FOR t IN SELECT DISTINCT u FROM unnest(p_tenant_ids) AS u LOOP
        PERFORM set_config('vault.tenant_id', t, true);
        INSERT INTO audit_events (tenant_id, client_id, action, outcome, error_code, user_id, connector_type, connector_id, request_id, key_version)
        SELECT e.tenant_id, e.client_id, e.action, e.outcome, e.error_code, e.user_id, e.connector_type, e.connector_id, e.request_id, e.key_version
        FROM unnest(p_tenant_ids, p_client_ids, p_actions, p_outcomes, p_error_codes, p_user_ids, p_connector_types, p_connector_ids, p_request_ids, p_key_versions)
          WITH ORDINALITY AS e(tenant_id, client_id, action, outcome, error_code, user_id, connector_type, connector_id, request_id, key_version, n)
        WHERE e.tenant_id = t
        ORDER BY e.n;
      END LOOP;
    END
    $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION vault_write_pushed_token_set(text, text, text, text, uuid, boolean, text, text, text, text, text, timestamptz, timestamptz, integer, bytea, bytea, bytea)`.execute(db)
  await sql`DROP FUNCTION vault_prepare_push(text, text, text, text)`.execute(db)
  await sql`DROP FUNCTION vault_insert_audit_events(text[], text[], text[], text[], text[], text[], text[], text[], text[], integer[])`.execute(db)
  await sql`DROP FUNCTION vault_read_token_set(text, text, text, text)`.execute(db)
}
