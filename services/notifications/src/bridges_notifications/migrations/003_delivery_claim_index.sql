-- The worker claims per endpoint (at most a few in flight each): due work by endpoint, in order.
CREATE INDEX delivery_endpoint_due ON delivery (endpoint_id, next_attempt_at)
    WHERE status = 'pending';
