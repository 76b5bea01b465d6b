"""The ports `bridges up` listens on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ports:
    """Where `bridges up` listens (the defaults are documented in the README)."""

    postgres: int = 5544
    nats: int = 4244
    nats_monitor: int = 8244
    nats_route: int = 6244  # a cluster's route port (node k of `--nats-cluster` uses base + k)
    directory: int = 8101
    referrals: int = 8102
    notifications: int = 8103
    identity: int = 8104  # the development OpenID provider the app signs in with
    smtp: int = 1025  # the local mail sink (what notifications send lands in .bridges/mail)

    def service(self, name: str, replica: int = 0) -> int:
        """Where `name` listens; its replica k (of `--replicas`) on that port + 10k."""
        port: int = getattr(self, name)
        return port + 10 * replica
