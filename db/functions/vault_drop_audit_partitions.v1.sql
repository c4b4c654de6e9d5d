-- Retention: the audit trail's monthly partitions that end at or before p_before, with how many events
-- each tenant had in them; dropped unless p_dry_run. Only whole months go, never the default partition,
-- never a month that has not ended. Owned by the tables' owner (who alone may drop tables); only operators
-- may call it, and the CLI records each tenant's loss in its trail.
CREATE FUNCTION vault_drop_audit_partitions(p_before timestamptz, p_dry_run boolean)
RETURNS TABLE (partition_name text, range_start timestamptz, range_end timestamptz, tenant_id text, events bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
SET timezone = 'UTC'
AS $$
#variable_conflict use_column
DECLARE
  part record;
  starts timestamptz;
  found_rows bigint;
BEGIN
  IF p_before > date_trunc('month', now()) THEN
    p_before := date_trunc('month', now());
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('vault_ensure_audit_partitions'));
  FOR part IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'audit_events'::regclass AND c.relname ~ '^audit_events_\d{4}_\d{2}$'
    ORDER BY c.relname
  LOOP
    starts := to_timestamp(substring(part.relname from 14), 'YYYY_MM');
    CONTINUE WHEN starts + interval '1 month' > p_before;
    RETURN QUERY EXECUTE format(
      'SELECT %L::text, %L::timestamptz, %L::timestamptz, e.tenant_id, count(*) FROM %I e GROUP BY e.tenant_id ORDER BY e.tenant_id',
      part.relname, starts, starts + interval '1 month', part.relname);
    GET DIAGNOSTICS found_rows = ROW_COUNT;
    IF found_rows = 0 THEN
      RETURN QUERY SELECT part.relname::text, starts, starts + interval '1 month', NULL::text, 0::bigint;
    END IF;
    IF NOT p_dry_run THEN
      EXECUTE format('DROP TABLE %I', part.relname);
    END IF;
  END LOOP;
END
$$;
