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
  await sql`DROP FUNCTION vault_insert_audit_events(text[], text[], text[], text[], text[], text[], text[], text[], text[], integer[])`.execute(db)
  await sql`DROP FUNCTION vault_read_token_set(text, text, text, text)`.execute(db)
}
