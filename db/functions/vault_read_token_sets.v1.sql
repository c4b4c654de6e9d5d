-- Many reads in one statement, across tenants: for each connection named in p_keys (a jsonb array of
-- {tenant_id, user_id, connector_type, connector_id}), its position n (1-based), the sealed access token
-- with the metadata bound into it, and the wrapped data key that opens it; no row for a connection with no
-- token set. It decides nothing and records nothing: the caller opens the token, decides, and records.
-- Each tenant's rows are read under that tenant's setting.
CREATE FUNCTION vault_read_token_sets(p_keys jsonb)
RETURNS TABLE (
  n integer, id uuid, state text, token_type text, scope text, expires_at timestamptz, issued_at timestamptz,
  has_refresh_token boolean, target text, issuer text, provider_subject text, write_id uuid,
  key_version integer, access_token_sealed bytea, root_key_id text, wrapped_key bytea
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
      SELECT k.n::integer, ts.id, ts.state, ts.token_type, ts.scope, ts.expires_at, ts.issued_at,
             ts.refresh_token_sealed IS NOT NULL, ts.target, ts.issuer, ts.provider_subject, ts.write_id,
             ts.key_version, ts.access_token_sealed, dk.root_key_id, dk.wrapped_key
      FROM ROWS FROM (jsonb_to_recordset(p_keys) AS (tenant_id text, user_id text, connector_type text, connector_id text))
        WITH ORDINALITY AS k(tenant_id, user_id, connector_type, connector_id, n)
      JOIN token_sets ts ON ts.tenant_id = k.tenant_id AND ts.user_id = k.user_id
        AND ts.connector_type = k.connector_type AND ts.connector_id = k.connector_id
      JOIN data_keys dk ON dk.tenant_id = ts.tenant_id AND dk.version = ts.key_version
      WHERE k.tenant_id = t;
  END LOOP;
END
$$;
