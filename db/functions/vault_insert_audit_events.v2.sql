-- Audit events of many requests (and tenants) in one statement, each a named record (p_events: a jsonb
-- array of objects with the columns below). Each tenant's rows are inserted under that tenant's setting,
-- so the policy's WITH CHECK holds row by row; they keep the order they came in.
CREATE FUNCTION vault_insert_audit_events(p_events jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  t text;
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  FOR t IN SELECT DISTINCT e->>'tenant_id' FROM jsonb_array_elements(p_events) AS e LOOP
    PERFORM set_config('vault.tenant_id', t, true);
    INSERT INTO audit_events (tenant_id, client_id, action, outcome, error_code, user_id, connector_type, connector_id,
      request_id, caller_request_id, key_version)
    SELECT e.tenant_id, e.client_id, e.action, e.outcome, e.error_code, e.user_id, e.connector_type, e.connector_id,
      e.request_id, e.caller_request_id, e.key_version
    FROM ROWS FROM (jsonb_to_recordset(p_events) AS (tenant_id text, client_id text, action text, outcome text,
        error_code text, user_id text, connector_type text, connector_id text, request_id text,
        caller_request_id text, key_version integer))
      WITH ORDINALITY AS e(tenant_id, client_id, action, outcome, error_code, user_id, connector_type, connector_id,
        request_id, caller_request_id, key_version, n)
    WHERE e.tenant_id = t
    ORDER BY e.n;
  END LOOP;
END
$$;
