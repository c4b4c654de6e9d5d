-- The tenants with an active data key that have audit events after their last digest and at or below
-- p_through (the highest id every transaction that could still write one below has ended by), at most
-- p_limit, in a random order (a limit reached early does not always favour the same ones). The sealer
-- reads where each one's last digest ended again under the tenant's lock, then those events, and seals
-- them; nothing here decides what a digest holds.
CREATE FUNCTION vault_audit_tenants_to_seal(p_limit integer, p_through bigint)
RETURNS TABLE (tenant_id text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  t text;
  taken integer := 0;
  rows_found integer;
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  -- Every tenant with a data key has a row in tenants, the one table the service may list across tenants.
  FOR t IN SELECT tn.tenant_id FROM tenants tn ORDER BY random() LOOP
    EXIT WHEN taken >= p_limit;
    PERFORM set_config('vault.tenant_id', t, true);
    -- A tenant without a data key (it never stored a secret, or was shredded) cannot be sealed for.
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM data_keys dk WHERE dk.tenant_id = t AND dk.state = 'active');
    RETURN QUERY
      SELECT t
      WHERE EXISTS (SELECT 1 FROM audit_events e WHERE e.tenant_id = t AND e.id <= p_through
                    AND e.id > coalesce((SELECT ad.through_id FROM audit_digests ad WHERE ad.tenant_id = t
                                         ORDER BY ad.number DESC LIMIT 1), 0));
    GET DIAGNOSTICS rows_found = ROW_COUNT;
    taken := taken + rows_found;
  END LOOP;
END
$$;
