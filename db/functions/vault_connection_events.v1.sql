-- The one home of "every change to a connection writes its event": a row trigger on token_sets, so a
-- push (whichever statement writes it), a refresh, a failure, a delete by the service or by an operator
-- each records its events in the transaction that makes the change. What a change means is read from
-- the row before and after:
--   inserted                                   connection.created
--   new tokens from a refresh (last_refreshed_at moved)   connection.refreshed
--   new tokens from a push (a new write_id, active)      connection.updated (re-consent, new scope)
--   the first failure of a streak              connection.refresh_failing
--   active -> reauth_required                  connection.reauth_required
--   a failing streak ended, or reauth_required -> active   connection.recovered
--   deleted                                    connection.deleted
-- Marking a set reauth_required takes a new write_id too, but leaves it inactive. A re-encryption (new key
-- version, same tokens, same write_id) changes none of these and says nothing. The payload is
-- the connection's metadata, never a token.
--
-- A refresh token that a delete or a push leaves behind is queued for revocation at the provider (RFC 7009)
-- with a copy of its connector's settings, when the connector revokes and has a revocation endpoint or an
-- issuer to discover one from. A push that kept the stored refresh token but re-sealed it under a newer key
-- changes its bytes too: the revocation compares it with the token the set holds before sending anything.
CREATE FUNCTION vault_connection_events()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  r token_sets;
  types text[] := '{}';
  data jsonb;
  revocation_reason text;
BEGIN
  IF TG_OP = 'DELETE' THEN
    r := OLD;
    types := ARRAY['connection.deleted'];
    revocation_reason := 'deleted';
  ELSIF TG_OP = 'INSERT' THEN
    r := NEW;
    types := ARRAY['connection.created'];
  ELSE
    r := NEW;
    IF NEW.last_refreshed_at IS DISTINCT FROM OLD.last_refreshed_at THEN
      types := types || 'connection.refreshed'::text;
    ELSIF NEW.write_id IS DISTINCT FROM OLD.write_id AND NEW.state = 'active' THEN
      types := types || 'connection.updated'::text;
      IF NEW.refresh_token_sealed IS DISTINCT FROM OLD.refresh_token_sealed THEN
        revocation_reason := 'replaced';
      END IF;
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
  IF revocation_reason IS NOT NULL AND OLD.refresh_token_sealed IS NOT NULL THEN
    INSERT INTO token_revocations (
      tenant_id, token_set_id, user_id, connector_type, connector_id, reason,
      token_key_version, refresh_server, refresh_token_sealed,
      token_endpoint, issuer, client_id, client_auth_method, extra_params, revocation_endpoint, revoke_tokens,
      settings_key_version, client_secret_sealed)
    SELECT OLD.tenant_id, OLD.id, OLD.user_id, OLD.connector_type, OLD.connector_id, revocation_reason,
      OLD.key_version, OLD.refresh_server, OLD.refresh_token_sealed,
      crs.token_endpoint, crs.issuer, crs.client_id, crs.client_auth_method, crs.extra_params, crs.revocation_endpoint,
      crs.revoke_tokens, crs.key_version, crs.client_secret_sealed
    FROM connector_refresh_settings crs
    WHERE crs.tenant_id = OLD.tenant_id AND crs.connector_type = OLD.connector_type AND crs.connector_id = OLD.connector_id
      AND crs.revoke_tokens AND (crs.revocation_endpoint IS NOT NULL OR crs.issuer IS NOT NULL);
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
