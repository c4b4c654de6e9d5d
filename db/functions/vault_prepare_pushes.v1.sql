-- Pushes, step one: each tenant's active data key (wrapped), what is stored for each connection, and the
-- authorization server the connector's refresh settings name (a new refresh token is bound to it). No row:
-- the tenant has no active data key yet, which the transactional path creates.
CREATE FUNCTION vault_prepare_pushes(p_tenant_ids text[], p_user_ids text[], p_connector_types text[], p_connector_ids text[])
RETURNS TABLE (
  n integer, active_version integer, root_key_id text, wrapped_key bytea,
  existing_id uuid, existing_key_version integer, existing_issued_at timestamptz, existing_has_refresh_token boolean,
  refresh_server text
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
      SELECT k.n::integer, dk.version, dk.root_key_id, dk.wrapped_key,
             ts.id, ts.key_version, ts.issued_at, ts.refresh_token_sealed IS NOT NULL,
             coalesce(rs.token_endpoint, rs.issuer)
      FROM unnest(p_tenant_ids, p_user_ids, p_connector_types, p_connector_ids)
        WITH ORDINALITY AS k(tenant_id, user_id, connector_type, connector_id, n)
      JOIN data_keys dk ON dk.tenant_id = k.tenant_id AND dk.state = 'active'
      LEFT JOIN token_sets ts ON ts.tenant_id = k.tenant_id AND ts.user_id = k.user_id
        AND ts.connector_type = k.connector_type AND ts.connector_id = k.connector_id
      LEFT JOIN connector_refresh_settings rs ON rs.tenant_id = k.tenant_id
        AND rs.connector_type = k.connector_type AND rs.connector_id = k.connector_id
      WHERE k.tenant_id = t;
  END LOOP;
END
$$;
