-- The one home of "every change to a connection writes its event": a row trigger on token_sets, so a
-- push (whichever statement writes it), a refresh, a failure, a delete by the service or by an operator
-- each records its events in the transaction that makes the change. What a change means is read from
-- the row before and after:
--   inserted                                   connection.created
--   new tokens from a refresh (last_refreshed_at moved)   connection.refreshed
--   new tokens from a push (issued_at moved otherwise)    connection.updated (re-consent, new scope)
--   the first failure of a streak              connection.refresh_failing
--   active -> reauth_required                  connection.reauth_required
--   a failing streak ended, or reauth_required -> active   connection.recovered
--   deleted                                    connection.deleted
-- A re-encryption (new key version, same tokens) changes none of these and says nothing. The payload is
-- the connection's metadata, never a token.
CREATE FUNCTION vault_connection_events()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  r token_sets;
  types text[] := '{}';
  data jsonb;
BEGIN
  IF TG_OP = 'DELETE' THEN
    r := OLD;
    types := ARRAY['connection.deleted'];
  ELSIF TG_OP = 'INSERT' THEN
    r := NEW;
    types := ARRAY['connection.created'];
  ELSE
    r := NEW;
    IF NEW.last_refreshed_at IS DISTINCT FROM OLD.last_refreshed_at THEN
      types := types || 'connection.refreshed'::text;
    ELSIF NEW.issued_at IS DISTINCT FROM OLD.issued_at THEN
      types := types || 'connection.updated'::text;
    END IF;
    IF OLD.refresh_failures = 0 AND NEW.refresh_failures > 0 THEN
      types := types || 'connection.refresh_failing'::text;
    END IF;
    IF OLD.state = 'active' AND NEW.state = 'reauth_required' THEN
      types := types || 'connection.reauth_required'::text;
    END IF;
    IF (OLD.refresh_failures > 0 AND NEW.refresh_failures = 0) OR (OLD.state = 'reauth_required' AND NEW.state = 'active') THEN
      types := types || 'connection.recovered'::text;
    END IF;
  END IF;
  IF cardinality(types) = 0 THEN
    RETURN NULL;
  END IF;
  data := jsonb_build_object(
    'tenant_id', r.tenant_id,
    'user_id', r.user_id,
    'connector_type', r.connector_type,
    'connector_id', r.connector_id,
    'target', r.target,
    'issuer', r.issuer,
    'state', r.state,
    'scope', r.scope,
    'expires_at', to_char(r.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'issued_at', to_char(r.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'has_refresh_token', r.refresh_token_sealed IS NOT NULL,
    'refresh_token_expires_at', to_char(r.refresh_token_expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'refresh_failure', CASE WHEN r.refresh_failures > 0 THEN jsonb_build_object(
      'count', r.refresh_failures,
      'since', to_char(r.refresh_failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'last_at', to_char(r.last_refresh_failure_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'last_error', r.last_refresh_error,
      'next_attempt_at', to_char(r.next_refresh_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) END
  );
  PERFORM vault_emit_event(r.tenant_id, t, data) FROM unnest(types) AS t;
  RETURN NULL;
END
$$;
