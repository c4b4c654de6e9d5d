-- Pushes, step two: compare-and-swap, element by element, in one transaction. An element is written only
-- if the row will be what the caller sealed: its key version is the tenant's active one, for an update its
-- row id still names the element's connection, the row will hold a refresh token exactly when the caller
-- sealed the access token saying so, and a new refresh token bound to what the connector's settings name
-- is bound to what they name now (a replica may have remembered any of these instead of asking). Inserts only if the connection is
-- still new; updates only if the push is not older than what is stored, and keeps the stored refresh token
-- only if it is sealed under the version the push writes. Each element that gets an outcome records its
-- audit event in the same transaction, so a push and its event commit together or not at all. Never waits
-- for a row lock (SKIP LOCKED: a refresh holding one user's row must not stall other users' pushes).
-- Elements go in connection order, so two batches cannot deadlock. An element that returns no row wrote
-- nothing, recorded nothing, and takes the transactional path, which locks, re-reads and re-seals.
CREATE FUNCTION vault_write_pushed_token_sets(
  p_tenant_ids text[], p_user_ids text[], p_connector_types text[], p_connector_ids text[], p_ids uuid[], p_is_new boolean[],
  p_targets text[], p_issuers text[], p_provider_subjects text[], p_token_types text[], p_scopes text[],
  p_expires_ats timestamptz[], p_issued_ats timestamptz[], p_key_versions integer[],
  p_access_tokens bytea[], p_refresh_tokens bytea[], p_id_tokens bytea[],
  p_audit_action text, p_client_ids text[], p_request_ids text[], p_caller_request_ids text[],
  p_has_refresh_tokens boolean[], p_refresh_servers text[], p_refresh_servers_from_settings boolean[], p_write_ids uuid[]
)
RETURNS TABLE (
  n integer, outcome text, id uuid, tenant_id text, user_id text, connector_type text, connector_id text, target text,
  issuer text, provider_subject text, token_type text, scope text, expires_at timestamptz, state text,
  key_version integer, issued_at timestamptz, created_at timestamptz, updated_at timestamptz,
  has_refresh_token boolean, has_id_token boolean
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  i integer;
  tenant text;
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  FOR i IN
    SELECT o.i FROM generate_subscripts(p_ids, 1) AS o(i)
    ORDER BY p_tenant_ids[o.i], p_user_ids[o.i], p_connector_types[o.i], p_connector_ids[o.i], o.i
  LOOP
    IF tenant IS DISTINCT FROM p_tenant_ids[i] THEN
      tenant := p_tenant_ids[i];
      PERFORM set_config('vault.tenant_id', tenant, true);
    END IF;
    -- Sealed under the tenant's active data key, or not written: after a rotation the caller looks the
    -- active key up again and re-seals.
    CONTINUE WHEN NOT EXISTS (
      SELECT 1 FROM data_keys dk WHERE dk.tenant_id = tenant AND dk.version = p_key_versions[i] AND dk.state = 'active');
    -- A new refresh token bound to what the connector's settings name is bound to what they name now, or
    -- not written (the caller may have remembered an older value). One the push bound itself is kept as is.
    CONTINUE WHEN p_refresh_tokens[i] IS NOT NULL AND p_refresh_servers_from_settings[i] AND p_refresh_servers[i] IS DISTINCT FROM (
      SELECT coalesce(rs.token_endpoint, rs.issuer) FROM connector_refresh_settings rs
      WHERE rs.tenant_id = tenant AND rs.connector_type = p_connector_types[i] AND rs.connector_id = p_connector_ids[i]);
    IF p_is_new[i] THEN
      CONTINUE WHEN p_has_refresh_tokens[i] <> (p_refresh_tokens[i] IS NOT NULL);
      INSERT INTO token_sets AS ts (tenant_id, id, user_id, connector_type, connector_id, target, issuer, provider_subject,
        token_type, scope, expires_at, issued_at, state, key_version, write_id, access_token_sealed, refresh_token_sealed, refresh_server, id_token_sealed)
      VALUES (tenant, p_ids[i], p_user_ids[i], p_connector_types[i], p_connector_ids[i], p_targets[i], p_issuers[i],
        p_provider_subjects[i], p_token_types[i], p_scopes[i], p_expires_ats[i], p_issued_ats[i], 'active', p_key_versions[i],
        p_write_ids[i], p_access_tokens[i], p_refresh_tokens[i], CASE WHEN p_refresh_tokens[i] IS NULL THEN NULL ELSE p_refresh_servers[i] END, p_id_tokens[i])
      ON CONFLICT ON CONSTRAINT token_sets_user_connector_key DO NOTHING
      RETURNING i, 'created', ts.id, ts.tenant_id, ts.user_id, ts.connector_type, ts.connector_id, ts.target, ts.issuer,
        ts.provider_subject, ts.token_type, ts.scope, ts.expires_at, ts.state, ts.key_version, ts.issued_at, ts.created_at,
        ts.updated_at, ts.refresh_token_sealed IS NOT NULL, ts.id_token_sealed IS NOT NULL
      INTO n, outcome, id, tenant_id, user_id, connector_type, connector_id, target, issuer, provider_subject, token_type,
        scope, expires_at, state, key_version, issued_at, created_at, updated_at, has_refresh_token, has_id_token;
      CONTINUE WHEN NOT FOUND;
    ELSE
      -- The row must still be this connection's: an id the caller remembers from an earlier push of this
      -- connection is only written while it names this connection.
      PERFORM 1 FROM token_sets ts
      WHERE ts.tenant_id = tenant AND ts.id = p_ids[i] AND ts.user_id = p_user_ids[i]
        AND ts.connector_type = p_connector_types[i] AND ts.connector_id = p_connector_ids[i]
      FOR UPDATE SKIP LOCKED;
      CONTINUE WHEN NOT FOUND;
      UPDATE token_sets AS ts SET
        target = p_targets[i], issuer = p_issuers[i], provider_subject = p_provider_subjects[i], token_type = p_token_types[i],
        scope = p_scopes[i], expires_at = p_expires_ats[i], issued_at = p_issued_ats[i], state = 'active',
        key_version = p_key_versions[i], write_id = p_write_ids[i], access_token_sealed = p_access_tokens[i],
        refresh_token_sealed = coalesce(p_refresh_tokens[i], ts.refresh_token_sealed),
        refresh_server = CASE WHEN p_refresh_tokens[i] IS NULL THEN ts.refresh_server ELSE p_refresh_servers[i] END,
        id_token_sealed = p_id_tokens[i], updated_at = now()
      WHERE ts.tenant_id = tenant AND ts.id = p_ids[i] AND ts.issued_at <= p_issued_ats[i]
        AND (p_refresh_tokens[i] IS NOT NULL OR ts.refresh_token_sealed IS NULL OR ts.key_version = p_key_versions[i])
        AND (p_refresh_tokens[i] IS NOT NULL OR ts.refresh_token_sealed IS NOT NULL) = p_has_refresh_tokens[i]
      RETURNING i, 'updated', ts.id, ts.tenant_id, ts.user_id, ts.connector_type, ts.connector_id, ts.target, ts.issuer,
        ts.provider_subject, ts.token_type, ts.scope, ts.expires_at, ts.state, ts.key_version, ts.issued_at, ts.created_at,
        ts.updated_at, ts.refresh_token_sealed IS NOT NULL, ts.id_token_sealed IS NOT NULL
      INTO n, outcome, id, tenant_id, user_id, connector_type, connector_id, target, issuer, provider_subject, token_type,
        scope, expires_at, state, key_version, issued_at, created_at, updated_at, has_refresh_token, has_id_token;
      IF NOT FOUND THEN
        -- Not updated: either the stored set was issued later (the push changes nothing), or the row is not
        -- what the caller sealed for (a kept refresh token under another key version, or one the caller did
        -- not know of): no row, and the transactional path, which locks and re-reads, decides.
        SELECT i, 'ignored_stale', ts.id, ts.tenant_id, ts.user_id, ts.connector_type, ts.connector_id, ts.target, ts.issuer,
          ts.provider_subject, ts.token_type, ts.scope, ts.expires_at, ts.state, ts.key_version, ts.issued_at, ts.created_at,
          ts.updated_at, ts.refresh_token_sealed IS NOT NULL, ts.id_token_sealed IS NOT NULL
        INTO n, outcome, id, tenant_id, user_id, connector_type, connector_id, target, issuer, provider_subject, token_type,
          scope, expires_at, state, key_version, issued_at, created_at, updated_at, has_refresh_token, has_id_token
        FROM token_sets ts
        WHERE ts.tenant_id = tenant AND ts.id = p_ids[i] AND ts.issued_at > p_issued_ats[i];
        CONTINUE WHEN NOT FOUND;
      END IF;
    END IF;
    INSERT INTO audit_events AS e (tenant_id, client_id, action, outcome, user_id, connector_type, connector_id, request_id, key_version, caller_request_id)
    VALUES (tenant, p_client_ids[i], p_audit_action, 'success', p_user_ids[i], p_connector_types[i], p_connector_ids[i],
      p_request_ids[i], key_version, p_caller_request_ids[i]);
    RETURN NEXT;
  END LOOP;
END
$$;
