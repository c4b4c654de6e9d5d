-- Many reads in one statement, each with its audit event. For each element: the sealed access token with
-- the wrapped data key that opens it, and whether this statement committed the read's success event.
-- It records success only for an element the caller will serve exactly as stored: the set is active,
-- holds every scope the caller requires, and does not expire before the caller's p_serve_until (the read
-- time plus the refresh margin). Every other element comes back with recorded = false and the caller
-- records its outcome itself. Each tenant's rows are read under that tenant's setting.
CREATE FUNCTION vault_read_and_record_token_sets(
  p_tenant_ids text[], p_user_ids text[], p_connector_types text[], p_connector_ids text[],
  p_required_scopes text[], p_serve_until timestamptz[], p_audit_action text, p_client_ids text[], p_request_ids text[],
  p_caller_request_ids text[]
)
RETURNS TABLE (
  n integer, id uuid, token_type text, scope text, expires_at timestamptz, issued_at timestamptz, state text,
  key_version integer, access_token_sealed bytea, has_refresh_token boolean, root_key_id text, wrapped_key bytea,
  target text, issuer text, provider_subject text, write_id uuid, recorded boolean
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  t text;
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  FOR t IN SELECT DISTINCT u FROM unnest(p_tenant_ids) AS u LOOP
    PERFORM set_config('vault.tenant_id', t, true);
    RETURN QUERY
      WITH found AS (
        SELECT k.n::integer AS n, ts.id, ts.token_type, ts.scope, ts.expires_at, ts.issued_at, ts.state, ts.key_version,
               ts.access_token_sealed, ts.refresh_token_sealed IS NOT NULL AS has_refresh_token, dk.root_key_id, dk.wrapped_key,
               ts.target, ts.issuer, ts.provider_subject, ts.write_id,
               ts.state = 'active'
                 AND (ts.expires_at IS NULL OR ts.expires_at > p_serve_until[k.n])
                 AND (p_required_scopes[k.n] IS NULL
                      OR string_to_array(p_required_scopes[k.n], ' ') <@ string_to_array(ts.scope, ' ')) AS recorded
        FROM unnest(p_tenant_ids, p_user_ids, p_connector_types, p_connector_ids)
          WITH ORDINALITY AS k(tenant_id, user_id, connector_type, connector_id, n)
        JOIN token_sets ts ON ts.tenant_id = k.tenant_id AND ts.user_id = k.user_id
          AND ts.connector_type = k.connector_type AND ts.connector_id = k.connector_id
        JOIN data_keys dk ON dk.tenant_id = ts.tenant_id AND dk.version = ts.key_version
        WHERE k.tenant_id = t
      ), events AS (
        INSERT INTO audit_events (tenant_id, client_id, action, outcome, user_id, connector_type, connector_id, request_id, key_version, caller_request_id)
        SELECT t, p_client_ids[f.n], p_audit_action, 'success', p_user_ids[f.n], p_connector_types[f.n], p_connector_ids[f.n],
               p_request_ids[f.n], f.key_version, p_caller_request_ids[f.n]
        FROM found f
        WHERE f.recorded
      )
      SELECT * FROM found;
  END LOOP;
END
$$;
