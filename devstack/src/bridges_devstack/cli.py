"""`bridges up` (the whole system on this machine) and `bridges token` (an access token of a
demo user, signed as the development OpenID provider signs its own)."""

from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import asdict
from pathlib import Path

from bridges_devstack.ports import Ports
from bridges_kit import cli as kit_cli
from bridges_kit.auth import DEV_KEY_NAME
from bridges_schema import Role


def main(argv: list[str] | None = None) -> int:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); nothing depends on it.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    parser = argparse.ArgumentParser(prog="bridges")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run everything on embedded PostgreSQL and NATS")
    up.add_argument("--run-dir", type=Path, default=kit_cli.DEFAULT_RUN_DIR)
    for name, port in asdict(Ports()).items():
        up.add_argument(f"--{name.replace('_', '-')}-port", type=int, default=port, dest=name)
    up.add_argument(
        "--nats-cluster",
        type=int,
        default=1,
        choices=range(1, 6),
        metavar="N",
        help="N nats-servers as one JetStream cluster (streams with 3 copies)",
    )
    up.add_argument(
        "--replicas",
        type=int,
        default=1,
        choices=range(1, 5),
        metavar="N",
        help="N processes of each service (ports +10 each)",
    )
    token = sub.add_parser("token", help="an access token of a demo user of `bridges up`")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="a demo user's id (badge-1234, staff-riverton-food-bank, ...)")
    who.add_argument("--role", choices=[r.value for r in Role], help="the role's first demo user")
    token.add_argument("--run-dir", type=Path, default=kit_cli.DEFAULT_RUN_DIR)
    token.add_argument("--ttl-hours", type=float, default=12)
    args = parser.parse_args(argv)
    if args.command == "token":
        print(demo_token(args.run_dir, args.user, args.role, int(args.ttl_hours * 3600)))
        return 0
    from bridges_devstack.stack import up as run_up

    ports = Ports(**{name: getattr(args, name) for name in asdict(Ports())})
    return run_up(args.run_dir, ports, nats_cluster=args.nats_cluster, replicas=args.replicas)


def demo_token(run_dir: Path, user_id: str | None, role: str | None, ttl_s: int) -> str:
    """What the development provider of the `bridges up` in `run_dir` would issue `user_id` (or
    the first demo user holding `role`)."""
    from bridges_devstack import identity
    from bridges_devstack.demo import DEMO_USERS_NAME, read_demo_users

    stack_file, users_file = run_dir / "stack.json", run_dir / DEMO_USERS_NAME
    if not stack_file.exists() or not users_file.exists():
        raise SystemExit(f"no `bridges up` state in {run_dir}: run `make up` once")
    users = read_demo_users(users_file)
    chosen = next((u for u in users if u.id == user_id or u.role.value == role), None)
    if chosen is None:
        raise SystemExit(f"no demo user {user_id or role!r}: {', '.join(u.id for u in users)}")
    issuer = json.loads(stack_file.read_text())["identity"]["issuer"]
    return identity.access_token(issuer, (run_dir / DEV_KEY_NAME).read_text(), chosen, ttl_s)


if __name__ == "__main__":
    raise SystemExit(main())
