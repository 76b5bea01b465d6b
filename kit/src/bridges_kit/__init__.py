"""The one runtime kit the three Bridges services share.

Infrastructure only, no business rules: settings, structured logs with correlation ids, the
PostgreSQL pool and migrations, the unit of work (abstract, on PostgreSQL, in memory for unit
tests), JetStream streams, the transactional outbox and its relay, durable idempotent consumers
with typed reactions and dead letters, the HTTP edge (input checks, problem+json), JWT auth,
health, metrics and pruning.
"""
