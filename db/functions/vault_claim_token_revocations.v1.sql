-- Claims up to p_limit queued refresh-token revocations that are due at p_at (never tried, or their retry is
-- due), across tenants, for one attempt each, as vault_claim_webhook_deliveries does deliveries: counted,
-- leased until p_at + p_lease_seconds, skipped when another transaction holds them, each tenant under its
-- own setting. Answers each with the data keys that open its refresh token and its connector's client secret.
CREATE FUNCTION vault_claim_token_revocations(p_at timestamptz, p_lease_seconds integer, p_limit integer)
RETURNS TABLE (
  tenant_id text, id uuid, attempts integer, first_attempt_at timestamptz,
  token_set_id uuid, user_id text, connector_type text, connector_id text, reason text,
  token_key_version integer, refresh_server text, refresh_token_sealed bytea,
  token_endpoint text, issuer text, client_id text, client_auth_method text, extra_params jsonb,
  revocation_endpoint text, revoke_tokens boolean, settings_key_version integer, client_secret_sealed bytea,
  token_root_key_id text, token_wrapped_key bytea, settings_root_key_id text, settings_wrapped_key bytea
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
        SELECT r.tenant_id, r.id FROM token_revocations r
        WHERE r.tenant_id = t AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= p_at)
          AND (r.lease_until IS NULL OR r.lease_until <= p_at)
        ORDER BY r.next_attempt_at NULLS FIRST
        LIMIT p_limit - taken
        FOR UPDATE SKIP LOCKED
      ), claimed AS (
        UPDATE token_revocations r
        SET attempts = r.attempts + 1, lease_until = p_at + make_interval(secs => p_lease_seconds),
          first_attempt_at = coalesce(r.first_attempt_at, p_at)
        FROM due WHERE r.tenant_id = due.tenant_id AND r.id = due.id
        RETURNING r.*
      )
      SELECT c.tenant_id, c.id, c.attempts, c.first_attempt_at,
             c.token_set_id, c.user_id, c.connector_type, c.connector_id, c.reason,
             c.token_key_version, c.refresh_server, c.refresh_token_sealed,
             c.token_endpoint, c.issuer, c.client_id, c.client_auth_method, c.extra_params,
             c.revocation_endpoint, c.revoke_tokens, c.settings_key_version, c.client_secret_sealed,
             tk.root_key_id, tk.wrapped_key, sk.root_key_id, sk.wrapped_key
      FROM claimed c
      JOIN data_keys tk ON tk.tenant_id = c.tenant_id AND tk.version = c.token_key_version
      JOIN data_keys sk ON sk.tenant_id = c.tenant_id AND sk.version = c.settings_key_version;
    GET DIAGNOSTICS rows_found = ROW_COUNT;
    taken := taken + rows_found;
  END LOOP;
END
$$;
