-- Counts an MFA attempt (a TOTP code or a backup code) before it is checked, so that concurrent guesses
-- on any number of replicas can never get past the limit: the count rises first, the code is looked at
-- after. A success clears the count (vault_clear_mfa_attempts); a failure leaves it standing.
--
-- The rule has its home here: five attempts in a row that did not succeed lock the user's MFA for 30
-- seconds, doubling with every further attempt after a lock ends (60 s, 120 s, …) up to 15 minutes. A
-- claim while locked is refused and counts nothing; it answers when the lock ends, for Retry-After.
CREATE FUNCTION vault_claim_mfa_attempt(p_tenant_id text, p_user_id text, p_now timestamptz)
RETURNS TABLE (allowed boolean, locked_until timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  v_locked_until timestamptz;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM tenants t WHERE t.tenant_id = p_tenant_id) THEN
    -- No tenant, so no factor to guess at: nothing to count (and no row its foreign key would take).
    RETURN QUERY SELECT true, NULL::timestamptz;
    RETURN;
  END IF;
  INSERT INTO mfa_attempts AS a (tenant_id, user_id, failures, locked_until, updated_at)
  VALUES (p_tenant_id, p_user_id, 1, NULL, p_now)
  ON CONFLICT (tenant_id, user_id) DO UPDATE SET
    failures = a.failures + 1,
    locked_until = CASE WHEN a.failures + 1 >= 5
      THEN p_now + least(interval '30 seconds' * power(2, a.failures + 1 - 5), interval '15 minutes')
      END,
    updated_at = p_now
  WHERE a.locked_until IS NULL OR a.locked_until <= p_now;
  IF FOUND THEN
    RETURN QUERY SELECT true, NULL::timestamptz;
    RETURN;
  END IF;
  SELECT a.locked_until INTO v_locked_until FROM mfa_attempts a WHERE a.tenant_id = p_tenant_id AND a.user_id = p_user_id;
  RETURN QUERY SELECT false, v_locked_until;
END
$$;
