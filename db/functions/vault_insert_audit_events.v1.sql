-- Audit events of many requests (and tenants) in one statement: each tenant's rows are inserted under
-- that tenant's setting, so the policy's WITH CHECK holds row by row.
CREATE FUNCTION vault_insert_audit_events(
  p_tenant_ids text[], p_client_ids text[], p_actions text[], p_outcomes text[], p_error_codes text[],
  p_user_ids text[], p_connector_types text[], p_connector_ids text[], p_request_ids text[], p_key_versions integer[],
  p_caller_request_ids text[]
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
    INSERT INTO audit_events (tenant_id, client_id, action, outcome, error_code, user_id, connector_type, connector_id, request_id, key_version, caller_request_id)
    SELECT e.tenant_id, e.client_id, e.action, e.outcome, e.error_code, e.user_id, e.connector_type, e.connector_id, e.request_id, e.key_version, e.caller_request_id
    FROM unnest(p_tenant_ids, p_client_ids, p_actions, p_outcomes, p_error_codes, p_user_ids, p_connector_types, p_connector_ids, p_request_ids, p_key_versions, p_caller_request_ids)
      WITH ORDINALITY AS e(tenant_id, client_id, action, outcome, error_code, user_id, connector_type, connector_id, request_id, key_version, caller_request_id, n)
    WHERE e.tenant_id = t
    ORDER BY e.n;
  END LOOP;
END
$$;
