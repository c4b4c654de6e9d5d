-- Whether a token set is due for a keep-alive refresh at p_at: its connector's refresh policy (p_policy)
-- names keep_alive_idle_seconds, the set was last issued (pushed or refreshed) at least that long ago, and
-- it is not backing off after failures (p_next_refresh_at). The one home of this rule: the sweep that
-- finds the sets and the refresh under the row lock both ask it.
CREATE FUNCTION vault_keep_alive_due(p_issued_at timestamptz, p_next_refresh_at timestamptz, p_policy jsonb, p_at timestamptz)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT p_policy ? 'keep_alive_idle_seconds'
    AND p_at - p_issued_at >= (p_policy->>'keep_alive_idle_seconds')::bigint * interval '1 second'
    AND (p_next_refresh_at IS NULL OR p_next_refresh_at <= p_at)
$$;
