-- The records of one vault_write_token_sets call that belong to one tenant and one round, typed, each with
-- its 1-based position n in the call and whether it may be written at all. A connection named more than
-- once in a call is written in rounds, in the order of the call: its first record in round 1, its second
-- in round 2, and so on, so that each sees what the one before it did. A record that writes (write) is
-- allowed only while its key_version is the tenant's active data key and, when it binds a new refresh
-- token to what the connector's settings named (settings_server_expected), only while they still name
-- settings_server. Read under the caller's tenant setting.
CREATE FUNCTION vault_token_set_writes(p_writes jsonb, p_tenant_id text, p_round integer)
RETURNS TABLE (
  n integer, user_id text, connector_type text, connector_id text, id uuid, expected_write_id uuid,
  expected_key_version integer, write boolean, target text, issuer text, provider_subject text, token_type text,
  scope text, expires_at timestamptz, issued_at timestamptz, key_version integer, write_id uuid,
  access_token_sealed bytea, keep_refresh_token boolean, refresh_token_sealed bytea, refresh_server text,
  refresh_token_expires_at timestamptz, id_token_sealed bytea, action text, client_id text, request_id text,
  caller_request_id text, allowed boolean
)
LANGUAGE sql STABLE SECURITY INVOKER
AS $$
  SELECT x.n::integer, x.user_id, x.connector_type, x.connector_id, x.id, x.expected_write_id,
    x.expected_key_version, x.write, x.target, x.issuer, x.provider_subject, x.token_type, x.scope, x.expires_at,
    x.issued_at, x.key_version, x.write_id, x.access_token_sealed, x.keep_refresh_token, x.refresh_token_sealed,
    x.refresh_server, x.refresh_token_expires_at, x.id_token_sealed, x.action, x.client_id, x.request_id,
    x.caller_request_id,
    x.write IS NOT TRUE OR (
      EXISTS (SELECT 1 FROM data_keys dk
              WHERE dk.tenant_id = p_tenant_id AND dk.version = x.key_version AND dk.state = 'active')
      AND (x.settings_server_expected IS NOT TRUE OR x.settings_server IS NOT DISTINCT FROM (
        SELECT coalesce(rs.token_endpoint, rs.issuer) FROM connector_refresh_settings rs
        WHERE rs.tenant_id = p_tenant_id AND rs.connector_type = x.connector_type AND rs.connector_id = x.connector_id)))
  FROM (
    SELECT r.*, row_number() OVER (PARTITION BY r.user_id, r.connector_type, r.connector_id ORDER BY r.n) AS round
    FROM ROWS FROM (jsonb_to_recordset(p_writes) AS (
        tenant_id text, user_id text, connector_type text, connector_id text, id uuid,
        expected_write_id uuid, expected_key_version integer, write boolean,
        target text, issuer text, provider_subject text, token_type text, scope text, expires_at timestamptz,
        issued_at timestamptz, key_version integer, write_id uuid, access_token_sealed bytea,
        keep_refresh_token boolean, refresh_token_sealed bytea, refresh_server text, refresh_token_expires_at timestamptz,
        id_token_sealed bytea, settings_server_expected boolean, settings_server text,
        action text, client_id text, request_id text, caller_request_id text))
      WITH ORDINALITY AS r(tenant_id, user_id, connector_type, connector_id, id, expected_write_id,
        expected_key_version, write, target, issuer, provider_subject, token_type, scope, expires_at, issued_at,
        key_version, write_id, access_token_sealed, keep_refresh_token, refresh_token_sealed, refresh_server,
        refresh_token_expires_at, id_token_sealed, settings_server_expected, settings_server, action, client_id,
        request_id, caller_request_id, n)
    WHERE r.tenant_id = p_tenant_id
  ) x
  WHERE x.round = p_round
$$;
