"""The Bridges NATS users of a deployment: one per service and `ops`, each an NKEY whose seed is
made once and kept with the deployment's other secrets (`bridges up`: the run directory; compose:
deploy/secrets/), and the nats-server authorization block that names their public keys and
grants (bridges_kit.bus_access), rewritten from the code at every start."""

from __future__ import annotations

from pathlib import Path

from bridges_devstack.bus_tls import ensure_tls
from bridges_directory.bootstrap import BUS_USER as DIRECTORY
from bridges_kit.bus_access import OPS_USER, BusUser, authorization, ensure_seed, public_key
from bridges_notifications.bootstrap import BUS_USER as NOTIFICATIONS
from bridges_referrals.bootstrap import BUS_USER as REFERRALS
from bridges_schema import Streams

USERS: tuple[BusUser, ...] = (DIRECTORY, REFERRALS, NOTIFICATIONS, OPS_USER)
KEYS_DIR = "nats-keys"  # in `bridges up`'s run directory
USERS_FILE = "nats-users.conf"  # compose: the nats_users secret
COMPOSE_NODES = ["nats", "nats-2", "nats-3"]  # docker-compose.yml and its cluster overlay


def seed_file(folder: Path, user: str) -> Path:
    """Where `user`'s seed is kept in `folder`."""
    return folder / f"nats-{user}.nk"


def ensure_users(folder: Path, streams: Streams, mode: int = 0o600) -> str:
    """Every user's seed in `folder` (made if missing, `mode`), and the authorization block
    for the namespace of `streams`."""
    named = [(user, public_key(ensure_seed(seed_file(folder, user.name), mode))) for user in USERS]
    return authorization(named, streams)


def deployment_secrets(folder: Path, hosts: list[str], mode: int = 0o644) -> list[Path]:
    """A deployment's bus secrets in `folder` (compose: deploy/secrets/, `mode` 0644 so the
    containers' users can read what is mounted into them; the folder is 0700): the users'
    seeds and their authorization block, the bus's CA and its nodes' certificate for `hosts`.
    Seeds and the CA are kept; the block is rewritten (a new release may grant otherwise)."""
    folder.mkdir(parents=True, exist_ok=True)
    users = folder / USERS_FILE
    users.write_text(ensure_users(folder, Streams(), mode))
    users.chmod(mode)
    tls = ensure_tls(folder, hosts, mode)
    seeds = [seed_file(folder, user.name) for user in USERS]
    return [users, tls.ca, tls.cert, tls.key, *seeds]
