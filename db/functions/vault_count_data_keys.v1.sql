-- Every tenant's data-key versions counted by state (one row per tenant and state; the caller adds them
-- up): what the service's gauge of data keys needs, naming no tenant. Each tenant's rows are counted under
-- its setting.
CREATE FUNCTION vault_count_data_keys()
RETURNS TABLE (state text, count bigint)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  t text;
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  FOR t IN SELECT tn.tenant_id FROM tenants tn LOOP
    PERFORM set_config('vault.tenant_id', t, true);
    RETURN QUERY
      SELECT dk.state, count(*)
      FROM data_keys dk
      WHERE dk.tenant_id = t
      GROUP BY 1;
  END LOOP;
END
$$;
