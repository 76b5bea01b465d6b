-- Families' follow-up messages (issue 18): deliveries of no agency (a family's, an officer's
-- alert), text messages, and the circuit breaker of a channel whose one receiver is the SMS
-- provider (as an endpoint's).
ALTER TABLE delivery ALTER COLUMN agency_id DROP NOT NULL;

CREATE TABLE channel_circuit (
    channel              text PRIMARY KEY,         -- sms
    consecutive_failures integer     NOT NULL DEFAULT 0,
    circuit_open_until   timestamptz
);
