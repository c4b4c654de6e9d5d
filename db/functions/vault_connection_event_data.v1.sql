-- A connection event's payload: the token set's clear metadata, never a sealed column. Times in UTC,
-- ISO 8601 with milliseconds, whatever the session's time zone.
CREATE FUNCTION vault_connection_event_data(ts token_sets)
RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT jsonb_build_object(
    'tenant_id', ts.tenant_id,
    'user_id', ts.user_id,
    'connector_type', ts.connector_type,
    'connector_id', ts.connector_id,
    'target', ts.target,
    'issuer', ts.issuer,
    'state', ts.state,
    'scope', ts.scope,
    'expires_at', to_char(ts.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'issued_at', to_char(ts.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'has_refresh_token', ts.refresh_token_sealed IS NOT NULL,
    'refresh_token_expires_at', to_char(ts.refresh_token_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'refresh_failure', CASE WHEN ts.refresh_failures > 0 THEN jsonb_build_object(
      'count', ts.refresh_failures,
      'since', to_char(ts.refresh_failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'last_at', to_char(ts.last_refresh_failure_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'last_error', ts.last_refresh_error,
      'next_attempt_at', to_char(ts.next_refresh_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) END
  )
$$;
