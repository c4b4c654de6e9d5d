-- What a push's write depends on besides the push, for many connections in one statement (p_keys: a jsonb
-- array of {tenant_id, user_id, connector_type, connector_id}). Per position n (1-based): the tenant's
-- active data key (wrapped); the authorization server the connector's refresh settings name now; and, when
-- the connection has a token set, what the push must compare against or keep: its id, write id, key
-- version, issued_at and its sealed refresh token with the server it is bound to, its expiry and the data
-- key it is sealed under. No row: the tenant has no active data key yet.
CREATE FUNCTION vault_find_push_bases(p_keys jsonb)
RETURNS TABLE (
  n integer, active_version integer, active_root_key_id text, active_wrapped_key bytea, settings_server text,
  stored_id uuid, stored_write_id uuid, stored_key_version integer, stored_issued_at timestamptz,
  stored_refresh_token_sealed bytea, stored_refresh_server text, stored_refresh_token_expires_at timestamptz,
  stored_root_key_id text, stored_wrapped_key bytea
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  t text;
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  FOR t IN SELECT DISTINCT k->>'tenant_id' FROM jsonb_array_elements(p_keys) AS k LOOP
    PERFORM set_config('vault.tenant_id', t, true);
    RETURN QUERY
      SELECT k.n::integer, active.version, active.root_key_id, active.wrapped_key,
             coalesce(rs.token_endpoint, rs.issuer),
             ts.id, ts.write_id, ts.key_version, ts.issued_at, ts.refresh_token_sealed, ts.refresh_server,
             ts.refresh_token_expires_at, stored.root_key_id, stored.wrapped_key
      FROM ROWS FROM (jsonb_to_recordset(p_keys) AS (tenant_id text, user_id text, connector_type text, connector_id text))
        WITH ORDINALITY AS k(tenant_id, user_id, connector_type, connector_id, n)
      JOIN data_keys active ON active.tenant_id = k.tenant_id AND active.state = 'active'
      LEFT JOIN token_sets ts ON ts.tenant_id = k.tenant_id AND ts.user_id = k.user_id
        AND ts.connector_type = k.connector_type AND ts.connector_id = k.connector_id
      LEFT JOIN data_keys stored ON stored.tenant_id = ts.tenant_id AND stored.version = ts.key_version
      LEFT JOIN connector_refresh_settings rs ON rs.tenant_id = k.tenant_id
        AND rs.connector_type = k.connector_type AND rs.connector_id = k.connector_id
      WHERE k.tenant_id = t;
  END LOOP;
END
$$;
