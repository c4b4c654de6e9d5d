-- Retention of the outbox: across tenants, deletes finished deliveries (delivered or dead) last attempted
-- before p_before, then events older than that with no delivery left. A pending delivery keeps its event
-- however old. Each tenant's rows are deleted under its setting; answers how many events went.
CREATE FUNCTION vault_prune_outbox(p_before timestamptz)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  t text;
  pruned bigint := 0;
  rows_found bigint;
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  FOR t IN SELECT tn.tenant_id FROM tenants tn LOOP
    PERFORM set_config('vault.tenant_id', t, true);
    DELETE FROM webhook_deliveries d
    WHERE d.tenant_id = t AND d.state IN ('delivered', 'dead') AND coalesce(d.last_attempt_at, d.created_at) < p_before;
    DELETE FROM events e
    WHERE e.tenant_id = t AND e.occurred_at < p_before
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.tenant_id = e.tenant_id AND d.event_id = e.id);
    GET DIAGNOSTICS rows_found = ROW_COUNT;
    pruned := pruned + rows_found;
  END LOOP;
  RETURN pruned;
END
$$;
