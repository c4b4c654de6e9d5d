-- Reads, decided and recorded in one statement, many at once and across tenants. p_reads is a jsonb array
-- of named records: the connection (tenant_id, user_id, connector_type, connector_id); required_scopes
-- (space-separated, or null); at (the read's instant); refresh_margin_ms (the service's margin; null: the
-- caller cannot refresh; a connector's refresh policy may name its own, see vault_refresh_due); and who
-- asked (client_id, request_id, caller_request_id).
--
-- This is the one home of the read's rule. Per read that finds a token set, its position n (1-based), the
-- sealed access token with the metadata bound into it and the wrapped data key that opens it, and:
--   read_wait_ms: the connector's policy for how long a read waits for a refresh (null: the service's);
--   verdict: reconnect (the grant is gone, or the token expired and cannot be refreshed);
--            insufficient_scope (missing_scopes: 1-based positions in required_scopes not granted);
--            refresh (due — see vault_refresh_due — and a refresh token is stored);
--            serve (as stored) — and only then the read's success event (p_audit_action) is recorded here,
--            in the same statement and commit;
-- in that order. The caller opens the token before it acts on the verdict: a row changed behind the vault's
-- back does not open (the success event then stands beside the failure the caller records). Each tenant's
-- rows are read and recorded under that tenant's setting.
CREATE FUNCTION vault_read_token_sets(p_reads jsonb, p_audit_action text)
RETURNS TABLE (
  n integer, id uuid, state text, token_type text, scope text, expires_at timestamptz, issued_at timestamptz,
  has_refresh_token boolean, target text, issuer text, provider_subject text, write_id uuid,
  key_version integer, access_token_sealed bytea, root_key_id text, wrapped_key bytea,
  verdict text, missing_scopes integer[], read_wait_ms integer
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  t text;
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  FOR t IN SELECT DISTINCT r->>'tenant_id' FROM jsonb_array_elements(p_reads) AS r LOOP
    PERFORM set_config('vault.tenant_id', t, true);
    RETURN QUERY
      WITH found AS (
        SELECT r.n::integer AS n, r.user_id, r.connector_type, r.connector_id, r.client_id, r.request_id,
               r.caller_request_id, ts.id, ts.state, ts.token_type, ts.scope, ts.expires_at, ts.issued_at,
               ts.refresh_token_sealed IS NOT NULL AS has_refresh_token, ts.target, ts.issuer, ts.provider_subject,
               ts.write_id, ts.key_version, ts.access_token_sealed, dk.root_key_id, dk.wrapped_key, r.at,
               r.refresh_margin_ms, crs.refresh_policy,
               (crs.refresh_policy->>'read_wait_ms')::integer AS read_wait_ms,
               CASE WHEN r.required_scopes IS NOT NULL THEN
                 (SELECT array_agg(s.o::integer ORDER BY s.o)
                  FROM unnest(string_to_array(r.required_scopes, ' ')) WITH ORDINALITY AS s(scope, o)
                  WHERE NOT s.scope = ANY (string_to_array(ts.scope, ' ')))
               END AS missing_scopes
        FROM ROWS FROM (jsonb_to_recordset(p_reads) AS (tenant_id text, user_id text, connector_type text,
            connector_id text, required_scopes text, at timestamptz, refresh_margin_ms bigint, client_id text,
            request_id text, caller_request_id text))
          WITH ORDINALITY AS r(tenant_id, user_id, connector_type, connector_id, required_scopes, at,
            refresh_margin_ms, client_id, request_id, caller_request_id, n)
        JOIN token_sets ts ON ts.tenant_id = r.tenant_id AND ts.user_id = r.user_id
          AND ts.connector_type = r.connector_type AND ts.connector_id = r.connector_id
        JOIN data_keys dk ON dk.tenant_id = ts.tenant_id AND dk.version = ts.key_version
        LEFT JOIN connector_refresh_settings crs ON crs.tenant_id = ts.tenant_id
          AND crs.connector_type = ts.connector_type AND crs.connector_id = ts.connector_id
        WHERE r.tenant_id = t
      ), decided AS (
        SELECT f.*, CASE
            WHEN f.state = 'reauth_required' THEN 'reconnect'
            WHEN f.missing_scopes IS NOT NULL THEN 'insufficient_scope'
            WHEN f.refresh_margin_ms IS NOT NULL AND f.has_refresh_token
              AND vault_refresh_due(f.expires_at, f.issued_at, f.at, f.refresh_margin_ms, f.refresh_policy) THEN 'refresh'
            WHEN f.expires_at IS NOT NULL AND f.expires_at <= f.at THEN 'reconnect'
            ELSE 'serve'
          END AS verdict
        FROM found f
      ), events AS (
        INSERT INTO audit_events (tenant_id, client_id, action, outcome, user_id, connector_type, connector_id,
          request_id, caller_request_id, key_version)
        SELECT t, d.client_id, p_audit_action, 'success', d.user_id, d.connector_type, d.connector_id,
          d.request_id, d.caller_request_id, d.key_version
        FROM decided d
        WHERE d.verdict = 'serve'
      )
      SELECT d.n, d.id, d.state, d.token_type, d.scope, d.expires_at, d.issued_at, d.has_refresh_token, d.target,
             d.issuer, d.provider_subject, d.write_id, d.key_version, d.access_token_sealed, d.root_key_id,
             d.wrapped_key, d.verdict, d.missing_scopes, d.read_wait_ms
      FROM decided d;
  END LOOP;
END
$$;
