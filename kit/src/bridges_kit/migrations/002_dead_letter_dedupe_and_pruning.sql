-- A message parked twice (parked, then redelivered because its `term` was lost) is one letter.
ALTER TABLE dead_letters ADD COLUMN stream_sequence bigint;
CREATE UNIQUE INDEX dead_letters_once ON dead_letters (consumer, stream_sequence);
CREATE INDEX dead_letters_open ON dead_letters (id DESC) WHERE replayed_at IS NULL;

-- Pruning walks these in time order (the tables grow with every event otherwise).
CREATE INDEX outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX processed_events_at ON processed_events (processed_at);
