-- Whether an access token is due for a refresh at p_at: inside the margin, or past half its lifetime when
-- its lifetime is shorter than the margin (else a provider issuing 30-second tokens would be asked on every
-- read). The margin is the connector's refresh policy's refresh_margin_seconds when it names one (p_policy
-- null: the connector has no settings), else the service's p_margin_ms. A token without an expiry is never
-- due. The one home of this rule: the read statement and the refresh (under its row lock) both ask it.
CREATE FUNCTION vault_refresh_due(p_expires_at timestamptz, p_issued_at timestamptz, p_at timestamptz, p_margin_ms bigint, p_policy jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT p_expires_at IS NOT NULL
    AND p_expires_at - p_at <= least(
      coalesce((p_policy->>'refresh_margin_seconds')::bigint * 1000, p_margin_ms) * interval '1 millisecond',
      greatest(interval '0', p_expires_at - p_issued_at) / 2)
$$;
