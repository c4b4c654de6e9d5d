-- Makes the audit trail's monthly partitions (UTC months) from the oldest month the default partition
-- holds (or this month) through the month of p_through, those missing: retention drops whole months.
-- Rows the default partition caught for a month (none, unless partitions were not made ahead) move into
-- that month's partition before it is attached. Idempotent and safe to call from every replica at once
-- (one at a time, by an advisory lock). Owned by the tables' owner, which alone may create tables; the
-- service and operators may only call it. Answers how many partitions it made.
CREATE FUNCTION vault_ensure_audit_partitions(p_through timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
SET timezone = 'UTC'
AS $$
DECLARE
  month timestamptz;
  last_month timestamptz := date_trunc('month', p_through);
  partition_name text;
  made integer := 0;
BEGIN
  IF p_through > now() + interval '2 years' THEN
    RAISE EXCEPTION 'audit partitions are made at most two years ahead';
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('vault_ensure_audit_partitions'));
  SELECT least(date_trunc('month', now()), date_trunc('month', min(d.occurred_at))) INTO month FROM audit_events_default d;
  WHILE month <= last_month LOOP
    partition_name := 'audit_events_' || to_char(month, 'YYYY_MM');
    IF to_regclass(partition_name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I (LIKE audit_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name);
      EXECUTE format('WITH moved AS (DELETE FROM audit_events_default WHERE occurred_at >= $1 AND occurred_at < $2 RETURNING *)
        INSERT INTO %I SELECT * FROM moved', partition_name) USING month, month + interval '1 month';
      EXECUTE format('ALTER TABLE audit_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
        partition_name, month, month + interval '1 month');
      made := made + 1;
    END IF;
    month := month + interval '1 month';
  END LOOP;
  RETURN made;
END
$$;
