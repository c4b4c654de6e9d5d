-- Every tenant's token sets counted by state and by whether refreshes are failing (one row per tenant and
-- group; the caller adds them up): what the service's health gauge needs, since it derives the health from
-- these as it does for one connection. Each tenant's rows are counted under its setting.
CREATE FUNCTION vault_count_token_sets()
RETURNS TABLE (state text, refresh_failing boolean, count bigint)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  t text;
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  FOR t IN SELECT tn.tenant_id FROM tenants tn LOOP
    PERFORM set_config('vault.tenant_id', t, true);
    RETURN QUERY
      SELECT ts.state, ts.refresh_failures > 0, count(*)
      FROM token_sets ts
      WHERE ts.tenant_id = t
      GROUP BY 1, 2;
  END LOOP;
END
$$;
