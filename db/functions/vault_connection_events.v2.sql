-- The one home of "every change to a connection writes its event": statement triggers on token_sets, so a
-- push (whichever statement writes it), a refresh, a failure, a delete by the service or by an operator
-- each records its events in the transaction that makes the change, once per statement for all its rows
-- (a batched push writes many). What a change means is read from the rows before and after:
--   inserted                                              connection.created
--   new tokens from a refresh (last_refreshed_at moved)   connection.refreshed
--   new tokens from a push (a new write_id, active)       connection.updated (re-consent, new scope)
--   the first failure of a streak                         connection.refresh_failing
--   active -> reauth_required                             connection.reauth_required
--   a failing streak ended, or reauth_required -> active  connection.recovered
--   deleted                                               connection.deleted
-- Marking a set reauth_required takes a new write_id too, but leaves it inactive. A re-encryption (new key
-- version, same tokens, same write_id) changes none of these and says nothing. The payload is the
-- connection's metadata (vault_connection_event_data), never a token, built only for a tenant with an
-- endpoint; which endpoints subscribe is vault_emit_event's to decide.
--
-- A refresh token that a delete or a push leaves behind is queued for revocation at the provider (RFC 7009)
-- with a copy of its connector's settings, when the connector revokes and has a revocation endpoint or an
-- issuer to discover one from. A push that kept the stored refresh token but re-sealed it under a newer key
-- changes its bytes too: the revocation compares it with the token the set holds before sending anything.
--
-- v2: a change that nobody hears and that leaves nothing to revoke costs no query over its rows. For whom the
-- current role can see (the service: the statement's tenant; operators: every tenant), when no webhook
-- endpoint exists and no connector revokes, neither of the statements below could find a row, so the
-- function returns at once. A push writes its rows one statement each, so this runs once per push.
CREATE OR REPLACE FUNCTION vault_connection_events()
RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM webhook_endpoints) AND (TG_OP = 'INSERT' OR NOT EXISTS (
    SELECT 1 FROM connector_refresh_settings crs
    WHERE crs.revoke_tokens AND (crs.revocation_endpoint IS NOT NULL OR crs.issuer IS NOT NULL))) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM vault_emit_event(n.tenant_id, 'connection.created', vault_connection_event_data(n))
    FROM new_rows n
    WHERE EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = n.tenant_id);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO token_revocations (
      tenant_id, token_set_id, user_id, connector_type, connector_id, reason,
      token_key_version, refresh_server, refresh_token_sealed,
      token_endpoint, issuer, client_id, client_auth_method, extra_params, revocation_endpoint, revoke_tokens,
      settings_key_version, client_secret_sealed)
    SELECT o.tenant_id, o.id, o.user_id, o.connector_type, o.connector_id, 'deleted',
      o.key_version, o.refresh_server, o.refresh_token_sealed,
      crs.token_endpoint, crs.issuer, crs.client_id, crs.client_auth_method, crs.extra_params, crs.revocation_endpoint,
      crs.revoke_tokens, crs.key_version, crs.client_secret_sealed
    FROM old_rows o
    JOIN connector_refresh_settings crs ON crs.tenant_id = o.tenant_id AND crs.connector_type = o.connector_type
      AND crs.connector_id = o.connector_id
    WHERE o.refresh_token_sealed IS NOT NULL
      AND crs.revoke_tokens AND (crs.revocation_endpoint IS NOT NULL OR crs.issuer IS NOT NULL);
    PERFORM vault_emit_event(o.tenant_id, 'connection.deleted', vault_connection_event_data(o))
    FROM old_rows o
    WHERE EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = o.tenant_id);
  ELSE
    INSERT INTO token_revocations (
      tenant_id, token_set_id, user_id, connector_type, connector_id, reason,
      token_key_version, refresh_server, refresh_token_sealed,
      token_endpoint, issuer, client_id, client_auth_method, extra_params, revocation_endpoint, revoke_tokens,
      settings_key_version, client_secret_sealed)
    SELECT o.tenant_id, o.id, o.user_id, o.connector_type, o.connector_id, 'replaced',
      o.key_version, o.refresh_server, o.refresh_token_sealed,
      crs.token_endpoint, crs.issuer, crs.client_id, crs.client_auth_method, crs.extra_params, crs.revocation_endpoint,
      crs.revoke_tokens, crs.key_version, crs.client_secret_sealed
    FROM old_rows o
    JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.id = o.id
    JOIN connector_refresh_settings crs ON crs.tenant_id = o.tenant_id AND crs.connector_type = o.connector_type
      AND crs.connector_id = o.connector_id
    WHERE o.refresh_token_sealed IS NOT NULL AND n.refresh_token_sealed IS DISTINCT FROM o.refresh_token_sealed
      AND n.last_refreshed_at IS NOT DISTINCT FROM o.last_refreshed_at AND n.write_id <> o.write_id AND n.state = 'active'
      AND crs.revoke_tokens AND (crs.revocation_endpoint IS NOT NULL OR crs.issuer IS NOT NULL);
    PERFORM vault_emit_event(n.tenant_id, change.type, vault_connection_event_data(n))
    FROM old_rows o
    JOIN new_rows n ON n.tenant_id = o.tenant_id AND n.id = o.id
    CROSS JOIN LATERAL unnest(ARRAY[
      CASE WHEN n.last_refreshed_at IS DISTINCT FROM o.last_refreshed_at THEN 'connection.refreshed'
           WHEN n.write_id <> o.write_id AND n.state = 'active' THEN 'connection.updated' END,
      CASE WHEN o.refresh_failures = 0 AND n.refresh_failures > 0 THEN 'connection.refresh_failing' END,
      CASE WHEN o.state = 'active' AND n.state = 'reauth_required' THEN 'connection.reauth_required' END,
      CASE WHEN (o.refresh_failures > 0 AND n.refresh_failures = 0) OR (o.state = 'reauth_required' AND n.state = 'active')
           THEN 'connection.recovered' END
    ]) AS change(type)
    WHERE change.type IS NOT NULL
      AND EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.tenant_id = n.tenant_id);
  END IF;
  RETURN NULL;
END
$$;
