-- Pushes' writes, many in one transaction, each a compare-and-swap on what the caller based it on. This
-- function holds no rule of its own about what a push means: the caller decided, sealed and says exactly
-- what to write; the function writes it only while what the caller saw still holds, and says which did not.
--
-- p_writes is a jsonb array of named records (the column list below). Per element:
--   expected_write_id, expected_key_version: the token set the caller saw (null: it saw none, and the
--     element is an insert that must not find one);
--   write: false records the push's event without writing (the caller found the push older than the set);
--   keep_refresh_token: the stored refresh token (with the server it is bound to and its expiry) stays;
--   settings_server_expected, settings_server: the new refresh token is bound to what the connector's
--     settings named, and is written only while they still name it.
-- A write also needs its key_version to be the tenant's active data key. A write is a new grant: the set's
-- refresh failures are cleared with it. Each element written or recorded
-- gets its audit event (action, client_id, request_id, caller_request_id) in the same transaction: a push
-- and its event commit together or not at all.
--
-- Per element, one row: n (its 1-based position), status and, unless status says nothing happened, the
-- token set's metadata as it now stands. status: created, updated, ignored_stale (recorded, not written);
-- changed (nothing done: what the caller saw no longer holds — ask again); locked (nothing done: another
-- transaction holds the row; with p_wait_for_locks the function waits for it instead). Elements go in
-- connection order, so two batches cannot deadlock on each other's rows.
CREATE FUNCTION vault_write_token_sets(p_writes jsonb, p_wait_for_locks boolean)
RETURNS TABLE (
  n integer, status text, id uuid, tenant_id text, user_id text, connector_type text, connector_id text,
  target text, issuer text, provider_subject text, token_type text, scope text, expires_at timestamptz,
  state text, key_version integer, issued_at timestamptz, created_at timestamptz, updated_at timestamptz,
  has_refresh_token boolean, has_id_token boolean, refresh_token_expires_at timestamptz, refresh_failures integer,
  refresh_failing_since timestamptz, last_refresh_failure_at timestamptz, last_refresh_error text,
  next_refresh_at timestamptz
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  w record;
  tenant text;
  seen boolean;
  stored token_sets%ROWTYPE;
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  FOR w IN
    SELECT * FROM ROWS FROM (jsonb_to_recordset(p_writes) AS (
        tenant_id text, user_id text, connector_type text, connector_id text, id uuid,
        expected_write_id uuid, expected_key_version integer, write boolean,
        target text, issuer text, provider_subject text, token_type text, scope text, expires_at timestamptz,
        issued_at timestamptz, key_version integer, write_id uuid, access_token_sealed bytea,
        keep_refresh_token boolean, refresh_token_sealed bytea, refresh_server text, refresh_token_expires_at timestamptz,
        id_token_sealed bytea, settings_server_expected boolean, settings_server text,
        action text, client_id text, request_id text, caller_request_id text))
      WITH ORDINALITY AS x(tenant_id, user_id, connector_type, connector_id, id, expected_write_id,
        expected_key_version, write, target, issuer, provider_subject, token_type, scope, expires_at, issued_at,
        key_version, write_id, access_token_sealed, keep_refresh_token, refresh_token_sealed, refresh_server,
        refresh_token_expires_at, id_token_sealed, settings_server_expected, settings_server, action, client_id, request_id,
        caller_request_id, n)
    ORDER BY x.tenant_id, x.user_id, x.connector_type, x.connector_id, x.n
  LOOP
    IF tenant IS DISTINCT FROM w.tenant_id THEN
      tenant := w.tenant_id;
      PERFORM set_config('vault.tenant_id', tenant, true);
    END IF;
    n := w.n;
    status := 'changed';
    id := NULL; tenant_id := NULL; user_id := NULL; connector_type := NULL; connector_id := NULL; target := NULL;
    issuer := NULL; provider_subject := NULL; token_type := NULL; scope := NULL; expires_at := NULL; state := NULL;
    key_version := NULL; issued_at := NULL; created_at := NULL; updated_at := NULL; has_refresh_token := NULL;
    has_id_token := NULL; refresh_token_expires_at := NULL; refresh_failures := NULL; refresh_failing_since := NULL;
    last_refresh_failure_at := NULL; last_refresh_error := NULL; next_refresh_at := NULL;

    IF w.write AND NOT EXISTS (
      SELECT 1 FROM data_keys dk WHERE dk.tenant_id = tenant AND dk.version = w.key_version AND dk.state = 'active'
    ) THEN
      RETURN NEXT; CONTINUE;
    END IF;
    IF w.write AND w.settings_server_expected AND w.settings_server IS DISTINCT FROM (
      SELECT coalesce(rs.token_endpoint, rs.issuer) FROM connector_refresh_settings rs
      WHERE rs.tenant_id = tenant AND rs.connector_type = w.connector_type AND rs.connector_id = w.connector_id
    ) THEN
      RETURN NEXT; CONTINUE;
    END IF;

    IF w.expected_write_id IS NULL THEN
      INSERT INTO token_sets AS ts (tenant_id, id, user_id, connector_type, connector_id, target, issuer,
        provider_subject, token_type, scope, expires_at, issued_at, state, key_version, write_id,
        access_token_sealed, refresh_token_sealed, refresh_server, refresh_token_expires_at, id_token_sealed)
      VALUES (tenant, w.id, w.user_id, w.connector_type, w.connector_id, w.target, w.issuer, w.provider_subject,
        w.token_type, w.scope, w.expires_at, w.issued_at, 'active', w.key_version, w.write_id,
        w.access_token_sealed, w.refresh_token_sealed, w.refresh_server, w.refresh_token_expires_at, w.id_token_sealed)
      ON CONFLICT ON CONSTRAINT token_sets_user_connector_key DO NOTHING
      RETURNING ts.* INTO stored;
      IF NOT FOUND THEN
        RETURN NEXT; CONTINUE;
      END IF;
      status := 'created';
    ELSE
      IF p_wait_for_locks THEN
        SELECT ts.write_id = w.expected_write_id AND ts.key_version = w.expected_key_version INTO seen
        FROM token_sets ts
        WHERE ts.tenant_id = tenant AND ts.id = w.id AND ts.user_id = w.user_id
          AND ts.connector_type = w.connector_type AND ts.connector_id = w.connector_id
        FOR UPDATE;
      ELSE
        SELECT ts.write_id = w.expected_write_id AND ts.key_version = w.expected_key_version INTO seen
        FROM token_sets ts
        WHERE ts.tenant_id = tenant AND ts.id = w.id AND ts.user_id = w.user_id
          AND ts.connector_type = w.connector_type AND ts.connector_id = w.connector_id
        FOR UPDATE SKIP LOCKED;
      END IF;
      IF NOT FOUND THEN
        IF EXISTS (
          SELECT 1 FROM token_sets ts
          WHERE ts.tenant_id = tenant AND ts.id = w.id AND ts.user_id = w.user_id
            AND ts.connector_type = w.connector_type AND ts.connector_id = w.connector_id
        ) THEN
          status := 'locked';
        END IF;
        RETURN NEXT; CONTINUE;
      END IF;
      IF NOT seen THEN
        RETURN NEXT; CONTINUE;
      END IF;
      IF w.write THEN
        UPDATE token_sets AS ts SET
          target = w.target, issuer = w.issuer, provider_subject = w.provider_subject, token_type = w.token_type,
          scope = w.scope, expires_at = w.expires_at, issued_at = w.issued_at, state = 'active',
          key_version = w.key_version, write_id = w.write_id, access_token_sealed = w.access_token_sealed,
          refresh_token_sealed = CASE WHEN w.keep_refresh_token THEN ts.refresh_token_sealed ELSE w.refresh_token_sealed END,
          refresh_server = CASE WHEN w.keep_refresh_token THEN ts.refresh_server ELSE w.refresh_server END,
          refresh_token_expires_at = CASE WHEN w.keep_refresh_token THEN ts.refresh_token_expires_at ELSE w.refresh_token_expires_at END,
          id_token_sealed = w.id_token_sealed, refresh_failures = 0, refresh_failing_since = NULL,
          last_refresh_failure_at = NULL, last_refresh_error = NULL, next_refresh_at = NULL, updated_at = now()
        WHERE ts.tenant_id = tenant AND ts.id = w.id
        RETURNING ts.* INTO stored;
        status := 'updated';
      ELSE
        SELECT ts.* INTO stored FROM token_sets ts WHERE ts.tenant_id = tenant AND ts.id = w.id;
        status := 'ignored_stale';
      END IF;
    END IF;

    -- The row as it now stands, metadata only (never a sealed column).
    id := stored.id; tenant_id := stored.tenant_id; user_id := stored.user_id;
    connector_type := stored.connector_type; connector_id := stored.connector_id; target := stored.target;
    issuer := stored.issuer; provider_subject := stored.provider_subject; token_type := stored.token_type;
    scope := stored.scope; expires_at := stored.expires_at; state := stored.state; key_version := stored.key_version;
    issued_at := stored.issued_at; created_at := stored.created_at; updated_at := stored.updated_at;
    has_refresh_token := stored.refresh_token_sealed IS NOT NULL; has_id_token := stored.id_token_sealed IS NOT NULL;
    refresh_token_expires_at := stored.refresh_token_expires_at; refresh_failures := stored.refresh_failures;
    refresh_failing_since := stored.refresh_failing_since; last_refresh_failure_at := stored.last_refresh_failure_at;
    last_refresh_error := stored.last_refresh_error; next_refresh_at := stored.next_refresh_at;
    INSERT INTO audit_events (tenant_id, client_id, action, outcome, user_id, connector_type, connector_id,
      request_id, caller_request_id, key_version)
    VALUES (tenant, w.client_id, w.action, 'success', w.user_id, w.connector_type, w.connector_id,
      w.request_id, w.caller_request_id, stored.key_version);
    RETURN NEXT;
  END LOOP;
END
$$;
