"""The Bridges NATS users of a deployment: one per service and `ops`, each an NKEY whose seed is
made once and kept with the deployment's other secrets (`bridges up`: the run directory; compose:
deploy/secrets/), and the nats-server authorization block that names their public keys and
grants (bridges_kit.bus_access), rewritten from the code at every start."""

from __future__ import annotations

from pathlib import Path

from bridges_directory.bootstrap import BUS_USER as DIRECTORY
from bridges_kit.bus_access import OPS_USER, BusUser, authorization, ensure_seed, public_key
from bridges_notifications.bootstrap import BUS_USER as NOTIFICATIONS
from bridges_referrals.bootstrap import BUS_USER as REFERRALS
from bridges_schema import Streams

USERS: tuple[BusUser, ...] = (DIRECTORY, REFERRALS, NOTIFICATIONS, OPS_USER)
KEYS_DIR = "nats-keys"  # in `bridges up`'s run directory


def seed_file(folder: Path, user: str) -> Path:
    """Where `user`'s seed is kept in `folder`."""
    return folder / f"nats-{user}.nk"


def ensure_users(folder: Path, streams: Streams, mode: int = 0o600) -> str:
    """Every user's seed in `folder` (made if missing, `mode`), and the authorization block
    for the namespace of `streams`."""
    named = [(user, public_key(ensure_seed(seed_file(folder, user.name), mode))) for user in USERS]
    return authorization(named, streams)
