"""Bridges on one machine: embedded PostgreSQL and nats-server, the `make up` supervisor,
dev tokens. Used by developers and by the test suite; never by a deployed service."""
