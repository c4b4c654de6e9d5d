-- The token sets due for a keep-alive refresh at p_at (see vault_keep_alive_due), across tenants, at most
-- p_limit. Only connectors whose policy keeps sets alive are read (the planner takes that part of
-- vault_keep_alive_due to the settings), each through token_sets_connector_idx, stopping once the limit is
-- reached; there is no index on issued_at, which every push and refresh
-- changes. Tenants are walked in a random order, so that a limit reached early does not always favour the
-- same ones; each tenant's rows are read under its setting.
-- Rows another transaction holds (a refresh running now, on any replica) are skipped, not waited for.
-- Answers connections only, never a secret; the refresh that follows locks each row and asks again.
CREATE FUNCTION vault_find_keep_alive_sets(p_at timestamptz, p_limit integer)
RETURNS TABLE (tenant_id text, user_id text, connector_type text, connector_id text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  t text;
  taken integer := 0;
  rows_found integer;
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  FOR t IN SELECT tn.tenant_id FROM tenants tn ORDER BY random() LOOP
    EXIT WHEN taken >= p_limit;
    PERFORM set_config('vault.tenant_id', t, true);
    RETURN QUERY
      SELECT ts.tenant_id, ts.user_id, ts.connector_type, ts.connector_id
      FROM connector_refresh_settings crs
      JOIN token_sets ts ON ts.tenant_id = crs.tenant_id AND ts.connector_type = crs.connector_type
        AND ts.connector_id = crs.connector_id
      WHERE crs.tenant_id = t AND ts.state = 'active' AND ts.refresh_token_sealed IS NOT NULL
        AND vault_keep_alive_due(ts.issued_at, ts.next_refresh_at, crs.refresh_policy, p_at)
      LIMIT p_limit - taken
      FOR UPDATE OF ts SKIP LOCKED;
    GET DIAGNOSTICS rows_found = ROW_COUNT;
    taken := taken + rows_found;
  END LOOP;
END
$$;
