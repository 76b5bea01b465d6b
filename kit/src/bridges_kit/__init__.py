"""The one runtime kit the three Bridges services share.

Infrastructure only, no business rules: settings, structured logs with correlation ids,
the PostgreSQL pool and migrations, JetStream streams, the transactional outbox and its
relay, durable idempotent consumers, HTTP errors as problem+json, JWT auth, health and metrics.
"""
