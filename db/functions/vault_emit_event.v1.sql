-- Records one event for delivery to the tenant's webhook endpoints that subscribe to its type (an empty
-- list subscribes to every type), in the caller's transaction: the event commits with the change it
-- describes, or not at all. With no subscriber nothing is stored (the outbox exists to deliver), and the
-- answer is null; otherwise the event's id, with one pending delivery per subscribed endpoint.
-- p_endpoint_id, when given, addresses that endpoint alone, whatever its types (a test delivery).
-- Runs as the caller (the service or an operator), under the caller's row-level security.
CREATE FUNCTION vault_emit_event(p_tenant_id text, p_type text, p_data jsonb, p_endpoint_id uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  endpoint_ids uuid[];
  event_id uuid;
BEGIN
  SELECT array_agg(e.id) INTO endpoint_ids
  FROM webhook_endpoints e
  WHERE e.tenant_id = p_tenant_id
    AND CASE WHEN p_endpoint_id IS NULL THEN cardinality(e.event_types) = 0 OR p_type = ANY (e.event_types)
             ELSE e.id = p_endpoint_id END;
  IF endpoint_ids IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO events (tenant_id, type, data) VALUES (p_tenant_id, p_type, p_data) RETURNING id INTO event_id;
  INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id)
    SELECT p_tenant_id, endpoint_id, event_id FROM unnest(endpoint_ids) AS endpoint_id;
  RETURN event_id;
END
$$;
