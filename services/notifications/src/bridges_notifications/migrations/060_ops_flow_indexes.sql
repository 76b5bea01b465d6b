-- Ops' flow figures (bridges_deliveries_last_hour) read the last hour of attempts and of
-- finished deliveries by time: without these, every sampling round would scan both tables.
CREATE INDEX delivery_attempt_at ON delivery_attempt (attempted_at);
CREATE INDEX delivery_finished_at ON delivery (finished_at) WHERE finished_at IS NOT NULL;
