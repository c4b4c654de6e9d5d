-- A code was accepted: the user's count of attempts in a row starts again (see vault_claim_mfa_attempt).
CREATE FUNCTION vault_clear_mfa_attempts(p_tenant_id text, p_user_id text)
RETURNS void
LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
  UPDATE mfa_attempts SET failures = 0, locked_until = NULL WHERE tenant_id = p_tenant_id AND user_id = p_user_id;
$$;
