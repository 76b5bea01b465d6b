"""Test-suite wiring: real PostgreSQL and nats-server once per session (bridges_devstack.testing)."""

pytest_plugins = ["bridges_devstack.testing"]
