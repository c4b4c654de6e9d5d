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
-- transaction holds the row; with p_wait_for_locks the function waits for it instead). Rows are locked in
-- connection order, so two batches cannot deadlock on each other's rows.
--
-- v2 writes a tenant's records together — one statement locks what they saw, one writes them all and
-- records their events — instead of one record at a time (v1 ran five statements per record). What each
-- record may do is decided as before; a connection named twice in one call is written in rounds (see
-- vault_token_set_writes), so the second sees what the first did.
CREATE OR REPLACE FUNCTION vault_write_token_sets(p_writes jsonb, p_wait_for_locks boolean)
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
  tenant text;
  rounds integer;
  round integer;
  held uuid[];
BEGIN
  PERFORM set_config('role', 'secret_vault_app', true);
  FOR tenant, rounds IN
    SELECT c.tenant_id, max(c.records)::integer
    FROM (SELECT e->>'tenant_id' AS tenant_id, count(*) AS records FROM jsonb_array_elements(p_writes) AS e
          GROUP BY e->>'tenant_id', e->>'user_id', e->>'connector_type', e->>'connector_id') c
    GROUP BY c.tenant_id ORDER BY c.tenant_id
  LOOP
    PERFORM set_config('vault.tenant_id', tenant, true);
    FOR round IN 1..rounds LOOP
      -- The rows the records of this round saw, locked in connection order (others wait or are skipped).
      -- One query written twice: SKIP LOCKED cannot be a parameter, and EXECUTE would plan it on every call.
      IF p_wait_for_locks THEN
        SELECT coalesce(array_agg(l.id), '{}') INTO held FROM (
          SELECT ts.id FROM vault_token_set_writes(p_writes, tenant, round) w
          JOIN token_sets ts ON ts.tenant_id = tenant AND ts.id = w.id AND ts.user_id = w.user_id
            AND ts.connector_type = w.connector_type AND ts.connector_id = w.connector_id
          WHERE w.allowed AND w.expected_write_id IS NOT NULL
          ORDER BY ts.user_id, ts.connector_type, ts.connector_id
          FOR UPDATE OF ts) l;
      ELSE
        SELECT coalesce(array_agg(l.id), '{}') INTO held FROM (
          SELECT ts.id FROM vault_token_set_writes(p_writes, tenant, round) w
          JOIN token_sets ts ON ts.tenant_id = tenant AND ts.id = w.id AND ts.user_id = w.user_id
            AND ts.connector_type = w.connector_type AND ts.connector_id = w.connector_id
          WHERE w.allowed AND w.expected_write_id IS NOT NULL
          ORDER BY ts.user_id, ts.connector_type, ts.connector_id
          FOR UPDATE OF ts SKIP LOCKED) l;
      END IF;

      RETURN QUERY
        WITH w AS (
          SELECT * FROM vault_token_set_writes(p_writes, tenant, round)
        ), inserted AS (
          INSERT INTO token_sets AS ts (tenant_id, id, user_id, connector_type, connector_id, target, issuer,
            provider_subject, token_type, scope, expires_at, issued_at, state, key_version, write_id,
            access_token_sealed, refresh_token_sealed, refresh_server, refresh_token_expires_at, id_token_sealed)
          SELECT tenant, w.id, w.user_id, w.connector_type, w.connector_id, w.target, w.issuer, w.provider_subject,
            w.token_type, w.scope, w.expires_at, w.issued_at, 'active', w.key_version, w.write_id,
            w.access_token_sealed, w.refresh_token_sealed, w.refresh_server, w.refresh_token_expires_at, w.id_token_sealed
          FROM w
          WHERE w.allowed AND w.expected_write_id IS NULL
          ORDER BY w.user_id, w.connector_type, w.connector_id
          ON CONFLICT ON CONSTRAINT token_sets_user_connector_key DO NOTHING
          RETURNING ts
        ), seen AS (
          -- A held row is what its record saw, unless another transaction wrote it first; and the record
          -- is still allowed now that the row is held.
          SELECT w.n, ts AS row FROM w JOIN token_sets ts ON ts.tenant_id = tenant AND ts.id = w.id
          WHERE w.allowed AND ts.id = ANY (held)
            AND ts.write_id = w.expected_write_id AND ts.key_version = w.expected_key_version
        ), updated AS (
          UPDATE token_sets AS ts SET
            target = w.target, issuer = w.issuer, provider_subject = w.provider_subject, token_type = w.token_type,
            scope = w.scope, expires_at = w.expires_at, issued_at = w.issued_at, state = 'active',
            key_version = w.key_version, write_id = w.write_id, access_token_sealed = w.access_token_sealed,
            refresh_token_sealed = CASE WHEN w.keep_refresh_token THEN ts.refresh_token_sealed ELSE w.refresh_token_sealed END,
            refresh_server = CASE WHEN w.keep_refresh_token THEN ts.refresh_server ELSE w.refresh_server END,
            refresh_token_expires_at = CASE WHEN w.keep_refresh_token THEN ts.refresh_token_expires_at ELSE w.refresh_token_expires_at END,
            id_token_sealed = w.id_token_sealed, refresh_failures = 0, refresh_failing_since = NULL,
            last_refresh_failure_at = NULL, last_refresh_error = NULL, next_refresh_at = NULL, updated_at = now()
          FROM w JOIN seen s ON s.n = w.n
          WHERE w.write IS TRUE AND ts.tenant_id = tenant AND ts.id = w.id
          RETURNING w.n, ts
        ), done AS (
          SELECT w.n, 'created'::text AS status, i.ts AS row FROM inserted i JOIN w ON w.id = (i.ts).id
          UNION ALL
          SELECT u.n, 'updated'::text, u.ts FROM updated u
          UNION ALL
          SELECT s.n, 'ignored_stale'::text, s.row FROM seen s JOIN w ON w.n = s.n WHERE w.write IS NOT TRUE
        ), events AS (
          INSERT INTO audit_events (tenant_id, client_id, action, outcome, user_id, connector_type, connector_id,
            request_id, caller_request_id, key_version)
          SELECT tenant, w.client_id, w.action, 'success', w.user_id, w.connector_type, w.connector_id,
            w.request_id, w.caller_request_id, (d.row).key_version
          FROM done d JOIN w ON w.n = d.n
          ORDER BY w.user_id, w.connector_type, w.connector_id
        )
        -- The row as it now stands, metadata only (never a sealed column).
        SELECT w.n,
          coalesce(d.status, CASE
            WHEN w.allowed AND w.expected_write_id IS NOT NULL AND NOT w.id = ANY (held) AND EXISTS (
              SELECT 1 FROM token_sets ts WHERE ts.tenant_id = tenant AND ts.id = w.id AND ts.user_id = w.user_id
                AND ts.connector_type = w.connector_type AND ts.connector_id = w.connector_id) THEN 'locked'
            ELSE 'changed'
          END),
          (d.row).id, (d.row).tenant_id, (d.row).user_id, (d.row).connector_type, (d.row).connector_id,
          (d.row).target, (d.row).issuer, (d.row).provider_subject, (d.row).token_type, (d.row).scope,
          (d.row).expires_at, (d.row).state, (d.row).key_version, (d.row).issued_at, (d.row).created_at,
          (d.row).updated_at, CASE WHEN d.n IS NOT NULL THEN (d.row).refresh_token_sealed IS NOT NULL END,
          CASE WHEN d.n IS NOT NULL THEN (d.row).id_token_sealed IS NOT NULL END,
          (d.row).refresh_token_expires_at, (d.row).refresh_failures, (d.row).refresh_failing_since,
          (d.row).last_refresh_failure_at, (d.row).last_refresh_error, (d.row).next_refresh_at
        FROM w LEFT JOIN done d ON d.n = w.n;
    END LOOP;
  END LOOP;
END
$$;
