-- Claims up to p_limit webhook deliveries that are due at p_at (never tried, or their retry is due), across tenants, for one attempt each: the
-- attempt is counted and the delivery leased until p_at + p_lease_seconds, so no other replica takes it
-- meanwhile; the lease also bounds how long a replica that died mid-attempt holds it. A delivery is
-- finished under its attempt number (compare-and-swap), so an attempt that outlived its lease cannot
-- overwrite a newer one. Rows another transaction holds are skipped, not waited for, and tenants are walked
-- in a random order, each under its own setting. Answers each delivery with its endpoint (the sealed
-- signing secrets and the data key that opens them) and its event: what one attempt needs.
CREATE FUNCTION vault_claim_webhook_deliveries(p_at timestamptz, p_lease_seconds integer, p_limit integer)
RETURNS TABLE (
  tenant_id text, id uuid, attempts integer, first_attempt_at timestamptz,
  endpoint_id uuid, url text, event_types text[], key_version integer, secrets_sealed bytea,
  root_key_id text, wrapped_key bytea,
  event_id uuid, event_type text, event_data jsonb, occurred_at timestamptz
)
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
      WITH due AS (
        SELECT d.tenant_id, d.id FROM webhook_deliveries d
        WHERE d.tenant_id = t AND d.state = 'pending' AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= p_at)
          AND (d.lease_until IS NULL OR d.lease_until <= p_at)
        ORDER BY d.next_attempt_at NULLS FIRST
        LIMIT p_limit - taken
        FOR UPDATE SKIP LOCKED
      ), claimed AS (
        UPDATE webhook_deliveries d
        SET attempts = d.attempts + 1, lease_until = p_at + make_interval(secs => p_lease_seconds),
          first_attempt_at = coalesce(d.first_attempt_at, p_at), last_attempt_at = p_at
        FROM due WHERE d.tenant_id = due.tenant_id AND d.id = due.id
        RETURNING d.tenant_id, d.id, d.attempts, d.first_attempt_at, d.endpoint_id, d.event_id
      )
      SELECT c.tenant_id, c.id, c.attempts, c.first_attempt_at,
             e.id, e.url, e.event_types, e.key_version, e.secrets_sealed,
             dk.root_key_id, dk.wrapped_key,
             ev.id, ev.type, ev.data, ev.occurred_at
      FROM claimed c
      JOIN webhook_endpoints e ON e.tenant_id = c.tenant_id AND e.id = c.endpoint_id
      JOIN data_keys dk ON dk.tenant_id = e.tenant_id AND dk.version = e.key_version
      JOIN events ev ON ev.tenant_id = c.tenant_id AND ev.id = c.event_id;
    GET DIAGNOSTICS rows_found = ROW_COUNT;
    taken := taken + rows_found;
  END LOOP;
END
$$;
